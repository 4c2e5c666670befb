import Foundation
import Model
import SeededRandom
import Testing
@testable import Training

/// Platt scaling, the best threshold, ECE and Brier, each against a naive reference.
@Suite struct CalibrationTests {
    /// Scores and labels drawn from a known calibration: label 1 with probability σ(slope·x + intercept).
    static func sample(count: Int, slope: Double, intercept: Double, seed: UInt64) -> (logits: [Float], labels: [Float]) {
        var random = SeededGenerator(seed: seed)
        let logits = (0..<count).map { _ in Float(Double.random(in: -6...6, using: &random)) }
        let labels = logits.map { Float(Double.random(in: 0..<1, using: &random) < BinaryCrossEntropy.sigmoid(slope * Double($0) + intercept) ? 1 : 0) }
        return (logits, labels)
    }

    @Test func plattScalingRecoversAKnownCalibration() throws {
        let (logits, labels) = Self.sample(count: 4000, slope: 0.5, intercept: -2, seed: 3)
        let fitted = try #require(Calibration.fit(logits: logits, labels: labels))
        #expect(abs(fitted.slope - 0.5) < 0.05 && abs(fitted.intercept + 2) < 0.15, "\(fitted)")
    }

    /// No (slope, intercept) on a fine grid around the answer has a lower smoothed cross-entropy.
    @Test func theFitIsTheMinimumOfItsLoss() throws {
        let (logits, labels) = Self.sample(count: 60, slope: 1.5, intercept: 0.7, seed: 11)
        let fitted = try #require(Calibration.fit(logits: logits, labels: labels))
        let positives = Double(labels.filter { $0 > 0.5 }.count), negatives = Double(labels.count) - positives
        func loss(_ c: Calibration) -> Double {
            zip(logits, labels).reduce(0) { total, pair in
                let t = pair.1 > 0.5 ? (positives + 1) / (positives + 2) : 1 / (negatives + 2)
                let p = c.probability(logit: Double(pair.0))
                return total - t * log(p) - (1 - t) * log(1 - p)
            } / Double(logits.count)
        }
        let best = loss(fitted)
        for da in stride(from: -0.2, through: 0.2, by: 0.02) {
            for db in stride(from: -0.4, through: 0.4, by: 0.04) {
                #expect(loss(Calibration(slope: fitted.slope + da, intercept: fitted.intercept + db)) >= best - 1e-9)
            }
        }
    }

    @Test func aSeparatedSetGetsAFiniteSlopeAndABackwardsOneNone() throws {
        // Perfectly separated with an offset: every logit above 3 is abnormal.
        let logits: [Float] = [1, 1.5, 2, 2.5, 3.5, 4, 4.5, 5]
        let labels: [Float] = [0, 0, 0, 0, 1, 1, 1, 1]
        let fitted = try #require(Calibration.fit(logits: logits, labels: labels))
        #expect(fitted.slope.isFinite && fitted.slope > 0 && fitted.slope < 20, "\(fitted)")
        #expect(fitted.probability(logit: 2) < 0.5 && fitted.probability(logit: 4) > 0.5, "the decision moves to where the classes meet")
        #expect(fitted.probability(logit: 5) < 0.95, "Platt's smoothed targets keep eight scans from claiming certainty")
        // Ranked backwards: no inverted decisions, just the base rate.
        let backwards = try #require(Calibration.fit(logits: logits, labels: labels.reversed()))
        #expect(backwards.slope == 0)
        #expect(abs(backwards.probability(logit: 0) - 0.5) < 1e-9)
        #expect(Calibration.fit(logits: [], labels: []) == nil)
    }

    /// Against every possible cut of a random set, tried one by one.
    @Test func theBestThresholdMatchesABruteForceSearch() {
        var random = SeededGenerator(seed: 5)
        for _ in 0..<50 {
            let count = Int.random(in: 1...30, using: &random)
            let scores = (0..<count).map { _ in Float(Int.random(in: -5...5, using: &random)) / 2 }  // ties on purpose
            let labels = (0..<count).map { _ in Float(Int.random(in: 0...1, using: &random)) }
            let found = ClassificationMetrics.bestThreshold(scores: scores, labels: labels)
            let cuts = [scores.min()! - 1] + scores
            let brute = cuts.map { cut in Double(zip(scores, labels).filter { ($0 > cut) == ($1 > 0.5) }.count) / Double(count) }.max()!
            #expect(found.accuracy == brute, "\(scores) \(labels)")
            #expect(Double(zip(scores, labels).filter { ($0 > found.threshold) == ($1 > 0.5) }.count) / Double(count) == brute)
        }
    }

    @Test func eceAndBrierAsDefined() {
        // Bins [0.1, 0.2): two at 0.15, one positive → |0.3 − 1| ; bin [0.9, 1]: 0.95 and 1.0, both positive → |1.95 − 2|.
        let quality = ProbabilityQuality(probabilities: [0.15, 0.15, 0.95, 1.0], labels: [0, 1, 1, 1])
        #expect(abs(quality.ece - (0.7 + 0.05) / 4) < 1e-12)
        #expect(abs(quality.brier - (0.0225 + 0.7225 + 0.0025 + 0) / 4) < 1e-12)
        #expect(quality.accuracy == 0.75)
        // Perfectly calibrated in each bin: ECE 0.
        #expect(ProbabilityQuality(probabilities: [0.25, 0.25, 0.25, 0.25], labels: [1, 0, 0, 0]).ece < 1e-12)
    }

    /// Platt scaling is kept only where it lowers the validation loss.
    @Test func thePlattFitIsKeptOnlyWhereItHelps() throws {
        // Offset logits (the decision belongs at 3, not 0): Platt helps.
        let offset = try #require(CalibrationReport.choose(logits: [1, 1.5, 2, 2.5, 3.5, 4, 4.5, 5], labels: [0, 0, 0, 0, 1, 1, 1, 1], epoch: 2))
        #expect(offset.method == "platt" && offset.after.loss < offset.before.loss && offset.epoch == 2)
        // Confident and right: smoothing the targets would only add doubt, so the network's own stay.
        let confident = try #require(CalibrationReport.choose(logits: [-9, -8, -9, -7, 8, 9, 7, 9], labels: [0, 0, 0, 0, 1, 1, 1, 1], epoch: 3))
        #expect(confident.method == "identity" && confident.calibration == .identity && confident.after == confident.before)
    }
}
