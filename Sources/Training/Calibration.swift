import Foundation
import Model

/// Platt scaling: the calibrated probability is σ(slope · logit + intercept), fitted on a
/// validation set's logits. The network's raw probabilities are not calibrated: BatchNorm with
/// batches of 2 shifts its logits from epoch to epoch, and a net trained to separate classes is
/// overconfident. The intercept moves the decision back to where the classes meet; the slope
/// tempers the confidence.
public struct Calibration: Codable, Sendable, Equatable {
    public var slope: Double
    public var intercept: Double

    public init(slope: Double, intercept: Double) {
        (self.slope, self.intercept) = (slope, intercept)
    }

    public static let identity = Calibration(slope: 1, intercept: 0)

    public func logit(_ raw: Double) -> Double { slope * raw + intercept }
    public func probability(logit raw: Double) -> Double { BinaryCrossEntropy.sigmoid(logit(raw)) }
    public func logits(_ raw: [Float]) -> [Float] { raw.map { Float(logit(Double($0))) } }

    /// Fits slope and intercept by Newton's method on the cross-entropy, with Platt's smoothed
    /// targets — (N₊ + 1)/(N₊ + 2) for positives, 1/(N₋ + 2) for negatives — so a small, perfectly
    /// separated set gives a finite slope rather than an infinite one. The slope is kept ≥ 0: a
    /// model that ranks its validation set backwards gets a constant probability (the base rate),
    /// never inverted decisions. Nil for an empty set.
    public static func fit(logits: [Float], labels: [Float]) -> Calibration? {
        guard !logits.isEmpty, logits.count == labels.count else { return nil }
        let positives = Double(labels.filter { $0 > 0.5 }.count), negatives = Double(labels.count) - positives
        let targets = labels.map { $0 > 0.5 ? (positives + 1) / (positives + 2) : 1 / (negatives + 2) }
        let x = logits.map(Double.init)
        // The base rate alone: the starting point, and the answer when the slope would be negative.
        let baseRate = Calibration(slope: 0, intercept: log((positives + 1) / (negatives + 1)))
        var current = baseRate
        var currentLoss = loss(current, x, targets)
        for _ in 0..<100 {
            var (ga, gb, haa, hab, hbb) = (0.0, 0.0, 1e-12, 0.0, 1e-12)
            for (xi, ti) in zip(x, targets) {
                let p = BinaryCrossEntropy.sigmoid(current.logit(xi))
                let w = max(p * (1 - p), 1e-12)
                ga += (p - ti) * xi; gb += p - ti
                haa += w * xi * xi; hab += w * xi; hbb += w
            }
            let determinant = haa * hbb - hab * hab
            guard determinant > 0 else { break }
            let da = (hbb * ga - hab * gb) / determinant, db = (haa * gb - hab * ga) / determinant
            // Backtracking: Newton's full step can overshoot on a nearly separable set.
            var step = 1.0, improved = false
            while step > 1e-10 {
                let trial = Calibration(slope: current.slope - step * da, intercept: current.intercept - step * db)
                let trialLoss = loss(trial, x, targets)
                if trialLoss < currentLoss { (current, currentLoss, improved) = (trial, trialLoss, true); break }
                step /= 2
            }
            if !improved || abs(da) + abs(db) < 1e-9 { break }
        }
        return current.slope >= 0 ? current : baseRate
    }

    /// Mean cross-entropy against (possibly smoothed) targets, computed stably from the logit.
    private static func loss(_ calibration: Calibration, _ x: [Double], _ targets: [Double]) -> Double {
        var total = 0.0
        for (xi, ti) in zip(x, targets) {
            let z = calibration.logit(xi)
            // −[t log σ(z) + (1 − t) log(1 − σ(z))] = max(z, 0) − t z + log(1 + e^(−|z|))
            total += max(z, 0) - ti * z + log1p(exp(-abs(z)))
        }
        return total / Double(x.count)
    }
}

/// How well a run's best checkpoint is calibrated on its validation set, before and after Platt
/// scaling (run.json's `calibration`).
public struct CalibrationReport: Codable, Sendable, Equatable {
    public var method = "platt"
    public var slope: Double
    public var intercept: Double
    /// The epoch whose checkpoint (and validation logits) it belongs to.
    public var epoch: Int
    public var scans: Int
    public var before: ProbabilityQuality
    public var after: ProbabilityQuality

    public init(_ calibration: Calibration, epoch: Int, logits: [Float], labels: [Float], method: String = "platt") {
        (slope, intercept, self.epoch, scans, self.method) = (calibration.slope, calibration.intercept, epoch, logits.count, method)
        before = ProbabilityQuality(probabilities: logits.map { BinaryCrossEntropy.sigmoid(Double($0)) }, labels: labels)
        after = ProbabilityQuality(probabilities: logits.map { calibration.probability(logit: Double($0)) }, labels: labels)
    }

    /// Platt scaling fitted on the set, unless it would raise the set's cross-entropy: then the
    /// network's own probabilities are kept (method "identity"). Platt's smoothed targets cap a
    /// probability near (N₊ + 1)/(N₊ + 2), which on a set the network already separates with
    /// well-placed, confident logits does more harm than good. Nil for an empty set.
    public static func choose(logits: [Float], labels: [Float], epoch: Int) -> CalibrationReport? {
        guard let fitted = Calibration.fit(logits: logits, labels: labels) else { return nil }
        let platt = CalibrationReport(fitted, epoch: epoch, logits: logits, labels: labels)
        guard platt.after.loss > platt.before.loss else { return platt }
        return CalibrationReport(.identity, epoch: epoch, logits: logits, labels: labels, method: "identity")
    }

    public var calibration: Calibration { Calibration(slope: slope, intercept: intercept) }
}

/// Figures of a set of probabilities against 0/1 labels.
public struct ProbabilityQuality: Codable, Sendable, Equatable {
    /// Mean binary cross-entropy.
    public var loss: Double
    /// Accuracy of the decision at probability 0.5.
    public var accuracy: Double
    /// Expected calibration error over 10 equal-width bins.
    public var ece: Double
    /// Mean squared error of the probability.
    public var brier: Double

    public init(probabilities: [Double], labels: [Float]) {
        let n = Double(max(probabilities.count, 1))
        loss = zip(probabilities, labels).reduce(0) { total, pair in
            let p = min(max(pair.0, 1e-7), 1 - 1e-7)
            return total - (pair.1 > 0.5 ? log(p) : log(1 - p))
        } / n
        accuracy = Double(zip(probabilities, labels).filter { ($0 >= 0.5) == ($1 > 0.5) }.count) / n
        ece = Self.expectedCalibrationError(probabilities: probabilities, labels: labels)
        brier = zip(probabilities, labels).reduce(0) { $0 + pow($1.0 - Double($1.1), 2) } / n
    }

    /// Σ over bins of (bin share) · |mean probability − share of positives|, with `bins` equal-width
    /// bins over [0, 1] (the last one closed).
    public static func expectedCalibrationError(probabilities: [Double], labels: [Float], bins: Int = 10) -> Double {
        guard !probabilities.isEmpty else { return 0 }
        var count = [Int](repeating: 0, count: bins), confidence = [Double](repeating: 0, count: bins), positive = [Double](repeating: 0, count: bins)
        for (p, label) in zip(probabilities, labels) {
            let bin = min(Int(p * Double(bins)), bins - 1)
            count[bin] += 1
            confidence[bin] += p
            positive[bin] += label > 0.5 ? 1 : 0
        }
        var total = 0.0
        for bin in 0..<bins where count[bin] > 0 {
            total += abs(confidence[bin] - positive[bin])
        }
        return total / Double(probabilities.count)
    }

    private enum CodingKeys: String, CodingKey { case loss, accuracy, ece, brier }
}
