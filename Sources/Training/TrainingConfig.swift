import Model
import SeededRandom
import Preprocess

/// Every knob of a training run, with the seed's values as defaults. Stored in run.json so a run
/// can be reproduced and resumed with exactly its settings.
public struct TrainingConfig: Sendable, Codable, Equatable {
    /// Model input size (x, y, z); the preprocessing resizes scans to it.
    public var width = 128
    public var height = 128
    public var depth = 64
    /// `auto` (the default) runs bf16 where the CPU multiplies it natively, f32 elsewhere; the
    /// run records what it resolved to and why (`PrecisionSetting.resolve`).
    public var precision: PrecisionSetting = .auto
    public var epochs = 100
    /// Stop when validation accuracy has not improved for this many epochs.
    public var patience = 15
    public var batchSize = 2
    public var learningRate = 1e-4
    public var decaySteps = 100_000.0
    public var decayRate = 0.96
    /// Share of each class held out for validation (decided per scan by its content hash).
    public var validationFraction = 0.3
    /// In-plane rotations (degrees) the training set is augmented with, one drawn per sample.
    public var augmentationAngles: [Double] = [-20, -10, -5, 5, 10, 20]
    public var seed: UInt64 = 1337
    /// Before each validation (and so before each checkpoint), re-estimate BatchNorm statistics
    /// over this many training scans ("precise BatchNorm", `Network.recalibrateStatistics`); nil
    /// (the default) is a fifth of the training set, at least 16 and at most 256 scans; 0 keeps
    /// the seed's moving averages alone. Batches of 2 make the moving averages drift from epoch
    /// to epoch, and with them the logits' offset: the decision at 0.5 then swings while the
    /// ranking (AUC) stays put.
    public var batchNormRecalibration: Int?

    public init() {}

    public var architecture: Architecture {
        get throws(Architecture.SizeError) { try Architecture(width: width, height: height, depth: depth) }
    }

    public var preprocessing: PreprocessParameters { PreprocessParameters(width: width, height: height, depth: depth) }

    public var adam: AdamSettings {
        var settings = AdamSettings()
        settings.learningRate = learningRate
        settings.decaySteps = decaySteps
        settings.decayRate = decayRate
        return settings
    }

    /// How many training scans (whole batches) re-estimate BatchNorm statistics before each validation.
    public func recalibrationScans(training count: Int) -> Int {
        let wanted = batchNormRecalibration ?? min(256, max(16, count / 5))
        return min(wanted, count) / batchSize * batchSize
    }

    /// Which training scans (indices into `labels`, the training set's) re-estimate BatchNorm
    /// statistics: a seeded sample, the same every epoch, in whole batches, holding each class in
    /// its share of the training set, as training batches do on average. Not the first scans:
    /// the training set is in folder order, CT-0/ before CT-23/, and statistics of normal scans
    /// alone shift every logit towards "abnormal" (measured: the best threshold drifted to
    /// p ≈ 0.9 while accuracy at 0.5 stuck at 0.77); nor a plain random sample, whose class mix
    /// varies (measured: the best threshold then swung to p ≈ 0.2–0.4).
    public func recalibrationSample(labels: [Int]) -> [Int] {
        let count = recalibrationScans(training: labels.count)
        guard count > 0 else { return [] }
        var generator = SeededGenerator(seed: seed ^ 0xB47C_4A11_5EED_0001)
        var byClass = Dictionary(grouping: labels.indices, by: { labels[$0] }).sorted { $0.key < $1.key }
            .map { $0.value.shuffled(using: &generator) }
        // Largest remainder: each class's share of `count`, rounded so the shares add up.
        let exact = byClass.map { Double($0.count) * Double(count) / Double(labels.count) }
        var quota = exact.map { Int($0) }
        for index in exact.indices.sorted(by: { exact[$0] - Double(quota[$0]) > exact[$1] - Double(quota[$1]) }).prefix(count - quota.reduce(0, +)) {
            quota[index] += 1
        }
        for index in byClass.indices { byClass[index] = Array(byClass[index].prefix(quota[index])) }
        return byClass.flatMap { $0 }.shuffled(using: &generator)
    }

    /// Problems a person must fix before training, one sentence each.
    public var problems: [String] {
        var found: [String] = []
        do { _ = try architecture } catch { found.append(error.description) }
        if epochs < 1 { found.append("epochs must be at least 1") }
        if patience < 1 { found.append("patience must be at least 1") }
        if batchSize < 1 || batchSize > 64 { found.append("batch size must be between 1 and 64") }
        if !(learningRate > 0 && learningRate < 1) { found.append("learning rate must be between 0 and 1") }
        if !(validationFraction > 0 && validationFraction < 1) { found.append("validation fraction must be between 0 and 1") }
        if augmentationAngles.contains(where: { !$0.isFinite || abs($0) > 180 }) { found.append("augmentation angles must be within ±180°") }
        if let scans = batchNormRecalibration, scans < 0 { found.append("batchnorm_recalibration must be 0 (off), a number of scans, or left out (a fifth of the training set)") }
        return found
    }

    private enum CodingKeys: String, CodingKey {
        case width, height, depth, precision, epochs, patience, seed
        case batchSize = "batch_size", learningRate = "learning_rate", decaySteps = "decay_steps", decayRate = "decay_rate"
        case validationFraction = "validation_fraction", augmentationAngles = "augmentation_angles"
        case batchNormRecalibration = "batchnorm_recalibration"
    }

    /// Decodes a partial config: keys not given keep their defaults.
    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        self.init()
        width = try c.decodeIfPresent(Int.self, forKey: .width) ?? width
        height = try c.decodeIfPresent(Int.self, forKey: .height) ?? height
        depth = try c.decodeIfPresent(Int.self, forKey: .depth) ?? depth
        precision = try c.decodeIfPresent(PrecisionSetting.self, forKey: .precision) ?? precision
        epochs = try c.decodeIfPresent(Int.self, forKey: .epochs) ?? epochs
        patience = try c.decodeIfPresent(Int.self, forKey: .patience) ?? patience
        batchSize = try c.decodeIfPresent(Int.self, forKey: .batchSize) ?? batchSize
        learningRate = try c.decodeIfPresent(Double.self, forKey: .learningRate) ?? learningRate
        decaySteps = try c.decodeIfPresent(Double.self, forKey: .decaySteps) ?? decaySteps
        decayRate = try c.decodeIfPresent(Double.self, forKey: .decayRate) ?? decayRate
        validationFraction = try c.decodeIfPresent(Double.self, forKey: .validationFraction) ?? validationFraction
        augmentationAngles = try c.decodeIfPresent([Double].self, forKey: .augmentationAngles) ?? augmentationAngles
        seed = try c.decodeIfPresent(UInt64.self, forKey: .seed) ?? seed
        batchNormRecalibration = try c.decodeIfPresent(Int.self, forKey: .batchNormRecalibration)
    }
}
