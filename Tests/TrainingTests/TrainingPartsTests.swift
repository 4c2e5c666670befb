import CTDTestSupport
import Foundation
import Preprocess
import Testing
@testable import Training

/// The pure pieces of training: split, metrics, early stopping, layouts, settings, progress text.
@Suite struct TrainingPartsTests {
    /// Precise BatchNorm by default: a fifth of the training set, 16 to 256 scans, whole batches.
    @Test func recalibrationCoversAFifthOfTheTrainingSetByDefault() {
        var config = TrainingConfig()
        #expect([1000, 50, 2000, 9].map { config.recalibrationScans(training: $0) } == [200, 16, 256, 8])
        config.batchNormRecalibration = 0
        #expect(config.recalibrationScans(training: 1000) == 0)
        config.batchNormRecalibration = 7
        #expect(config.recalibrationScans(training: 1000) == 6)
        config.batchNormRecalibration = -1
        #expect(config.problems.contains { $0.contains("batchnorm_recalibration") })
    }

    /// The training set arrives in folder order (CT-0/ first): the recalibration sample must mix
    /// the classes, and be the same every epoch and on a resume.
    @Test func recalibrationSamplesTheWholeTrainingSetNotItsFirstScans() {
        let config = TrainingConfig()
        let labels = [Int](repeating: 0, count: 72) + [Int](repeating: 1, count: 72)
        let sample = config.recalibrationSample(labels: labels)
        #expect(sample.count == 28 && Set(sample).count == 28 && sample.allSatisfy { (0..<144).contains($0) })
        #expect(sample.filter { labels[$0] == 1 }.count == 14, "each class in its share of the training set")
        #expect(config.recalibrationSample(labels: labels) == sample)
        var other = config
        other.seed += 1
        #expect(other.recalibrationSample(labels: labels) != sample)
        // Uneven classes keep their shares: 35 scans, 17 normal and 18 abnormal, 16 drawn.
        let uneven = [Int](repeating: 0, count: 17) + [Int](repeating: 1, count: 18)
        let drawn = config.recalibrationSample(labels: uneven)
        #expect(drawn.count == 16 && drawn.filter { uneven[$0] == 0 }.count == 8)
        var three = config
        three.batchNormRecalibration = 5
        #expect(three.recalibrationSample(labels: [0, 1, 1, 0, 1, 1, 1]).count == 4, "whole batches")
    }

    func hash(_ i: Int) -> String {
        var x = UInt64(i) &* 0x9E37_79B9_7F4A_7C15
        x ^= x >> 29; x &*= 0xBF58_476D_1CE4_E5B9; x ^= x >> 32
        let text = String(x, radix: 16)
        return String(repeating: "0", count: 16 - text.count) + text + String(repeating: "a", count: 48)
    }

    @Test func splitIsStableAndNearTheFraction() {
        let sides = (0..<2000).map { ValidationSplit.isValidation(hash: hash($0), fraction: 0.3) }
        let share = Double(sides.filter { $0 }.count) / 2000
        #expect(abs(share - 0.3) < 0.04, "share \(share)")
        #expect((0..<2000).map { ValidationSplit.isValidation(hash: hash($0), fraction: 0.3) } == sides, "same hash, same side")
        #expect(ValidationSplit.isValidation(hash: "0000000000000000" + String(repeating: "f", count: 48), fraction: 0.3))
        #expect(!ValidationSplit.isValidation(hash: "ffffffffffffffff" + String(repeating: "0", count: 48), fraction: 0.3))
    }

    @Test func aucCountsRankedPairs() {
        #expect(ClassificationMetrics.auc(scores: [0.1, 0.4, 0.35, 0.8], labels: [0, 0, 1, 1]) == 0.75)
        #expect(ClassificationMetrics.auc(scores: [1, 2, 3], labels: [0, 1, 1]) == 1)
        #expect(ClassificationMetrics.auc(scores: [1, 1], labels: [0, 1]) == 0.5, "ties count half")
        #expect(ClassificationMetrics.auc(scores: [1, 2], labels: [1, 1]) == nil)
        let metrics = ClassificationMetrics(logits: [-2, 3, 0.5, -1], labels: [0, 1, 0, 1])
        #expect(metrics.accuracy == 0.5 && metrics.count == 4)
    }

    @Test func earlyStoppingFollowsTheSeedsCallbacks() {
        var stopping = EarlyStopping(patience: 2)
        #expect(stopping.record(epoch: 1, validationLoss: 0.7, validationAccuracy: 0.5) == .init(saveBest: true, stop: false))
        #expect(stopping.record(epoch: 2, validationLoss: 0.6, validationAccuracy: 0.5) == .init(saveBest: true, stop: false))
        #expect(stopping.record(epoch: 3, validationLoss: 0.65, validationAccuracy: 0.6) == .init(saveBest: false, stop: false))
        #expect(stopping.record(epoch: 4, validationLoss: 0.5, validationAccuracy: 0.6) == .init(saveBest: true, stop: false))
        #expect(stopping.record(epoch: 5, validationLoss: .nan, validationAccuracy: 0.55) == .init(saveBest: false, stop: true))
        #expect(stopping.bestEpoch == 4)
    }

    @Test func modelInputPutsZFastest() {
        let grid = VoxelGrid(nx: 2, ny: 3, nz: 4, values: (0..<24).map(Float.init))
        let values = ModelInput.values(grid)
        for x in 0..<2 { for y in 0..<3 { for z in 0..<4 { #expect(values[(x * 3 + y) * 4 + z] == grid[x, y, z]) } } }
    }

    @Test func augmentationClipsToTheUnitRange() {
        let grid = VoxelGrid(nx: 20, ny: 20, nz: 2, values: (0..<800).map { $0 % 7 == 0 ? 1 : 0 })
        let rotated = Augmentation.rotated(grid, degrees: 10)
        #expect(rotated.values.allSatisfy { (0...1).contains($0) })
        #expect(rotated.values != grid.values)
    }

    @Test func partialConfigKeepsSeedDefaults() throws {
        let config = try JSONDecoder().decode(TrainingConfig.self, from: Data(#"{"width": 64, "epochs": 3}"#.utf8))
        #expect(config.width == 64 && config.epochs == 3)
        #expect(config.height == 128 && config.depth == 64 && config.patience == 15 && config.batchSize == 2)
        #expect(config.learningRate == 1e-4 && config.augmentationAngles == [-20, -10, -5, 5, 10, 20])
        var bad = TrainingConfig()
        bad.depth = 32
        #expect(bad.problems.first?.contains("at least 46") == true)
    }

    @Test func progressPrintsKerasLikeLines() {
        var text = ""
        let progress = TerminalProgress(interactive: false) { text += $0 }
        progress.epochStarted(epoch: 3, of: 100, steps: 10)
        for step in 1...10 { progress.stepFinished(step: step, of: 10, loss: 0.5, accuracy: 0.75, elapsed: Double(step)) }
        progress.epochFinished(EpochRecord(epoch: 3, loss: 0.5, accuracy: 0.75, validationLoss: 0.6, validationAccuracy: 0.7,
                                           validationAUC: 0.8, learningRate: 1e-4, seconds: 12, msPerStep: 470,
                                           computeSeconds: 10, augmentationSeconds: 1, validationSeconds: 1), of: 100, savedBest: true)
        let lines = text.split(separator: "\n").map(String.init)
        #expect(lines.first == "Epoch 3/100")
        #expect(lines.count == 12, "title, one line per 10 % and the epoch line: \(lines)")
        #expect(lines.last == "12s - 470ms/step - acc: 0.7500 - loss: 0.5000 - val_acc: 0.7000 - val_loss: 0.6000 - val_auc: 0.8000 - saved best")
    }
}

/// The fast float32 augmentation rotation against the exact (scipy-parity) one.
@Suite struct AugmentationTests {
    @Test(arguments: [-20.0, -5, 10, 20])
    func modelLayoutRotationMatchesTheExactOne(degrees: Double) {
        let (nx, ny, nz) = (23, 19, 37)  // two 16-slice blocks and a tail
        let grid = VoxelGrid(nx: nx, ny: ny, nz: nz, values: (0..<(nx * ny * nz)).map { Float(($0 &* 2_654_435_761) % 1000) / 1000 })
        let exact = ModelInput.values(Augmentation.rotated(grid, degrees: degrees))
        let fast = Augmentation.rotatedModelInput(ModelInput.values(grid), nx: nx, ny: ny, nz: nz, degrees: degrees)
        let error = zip(exact, fast).reduce(Float(0)) { max($0, abs($1.0 - $1.1)) }
        #expect(error < 1e-5, "max |error| \(error)")
    }

    @Test func batchRotatesEachSampleByItsOwnAngleAndClips() {
        let (nx, ny, nz) = (21, 17, 19)
        func sample(_ seed: Int) -> [Float] {
            (0..<(nx * ny * nz)).map { (index: Int) -> Float in Float(((index + seed * 7919) &* 2_654_435_761) % 1300) / 1000 }
        }
        let samples = [sample(0), sample(1), sample(2)]
        let angles = [10.0, 0, -20]
        let batch = Augmentation.batch(samples, angles: angles, nx: nx, ny: ny, nz: nz)
        let size = nx * ny * nz
        #expect(batch.count == 3 * size)
        #expect(Array(batch[0..<size]) == Augmentation.rotatedModelInput(samples[0], nx: nx, ny: ny, nz: nz, degrees: 10))
        #expect(Array(batch[size..<(2 * size)]) == samples[1], "angle 0 leaves the sample as it is")
        #expect(Array(batch[(2 * size)...]) == Augmentation.rotatedModelInput(samples[2], nx: nx, ny: ny, nz: nz, degrees: -20))
        #expect(batch[0..<size].allSatisfy { (0...1).contains($0) } && samples[0].contains { $0 > 1 }, "rotated samples are clipped to [0, 1]")
    }

    /// Beyond the memory budget, cached tensors are read again when used — the same values, and
    /// preprocessed anew if the cache file went away meanwhile.
    @Test func scansBeyondTheMemoryBudgetAreReadFromTheCache() throws {
        let folder = TemporaryFolder()
        for (name, abnormal) in [("CT-0", false), ("CT-23", true)] {
            try FileManager.default.createDirectory(atPath: folder.path + "/data/" + name, withIntermediateDirectories: true)
            FileManager.default.createFile(atPath: folder.path + "/data/\(name)/a.nii.gz", contents: Data(try SmallScans.niftiBytes(index: 1, abnormal: abnormal)))
        }
        let scans = try LabelledScans.discover(in: folder.path + "/data")
        let parameters = PreprocessParameters(width: 48, height: 48, depth: 48)
        let cache = folder.path + "/cache"
        let kept = LabelledScans.prepare(scans, parameters: parameters, validationFraction: 0.3, cacheFolder: cache).prepared
        let read = LabelledScans.prepare(scans, parameters: parameters, validationFraction: 0.3, cacheFolder: cache, memoryBudget: 0).prepared
        #expect(kept.count == 2 && read.count == 2)
        for (a, b) in zip(kept, read) { #expect(try a.input() == b.input() && a.scan == b.scan) }
        for file in try FileManager.default.contentsOfDirectory(atPath: cache) { try FileManager.default.removeItem(atPath: cache + "/" + file) }
        for (a, b) in zip(kept, read) { #expect(try a.input() == b.input(), "preprocessed again without its cache file") }
        let seed = PreprocessParameters.seed
        #expect(PreparedScan.fitInMemory(count: 512, parameters: seed) && !PreparedScan.fitInMemory(count: 513, parameters: seed))
    }
}
