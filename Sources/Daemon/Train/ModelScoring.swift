import Catalog
import ControlProtocol
import Foundation
import Model
import Preprocess
import Scheduling
import Training

/// How a model does on the daemon's current validation set: the figures promotion compares
/// (each model with its own calibration, as its reports would decide) and the raw ones.
enum ModelScoring {
    static func evaluate(_ predictor: Predictor, on scans: [PreparedScan], gate: ComputeGate) throws -> ImportResult.Evaluation? {
        guard !scans.isEmpty else { return nil }
        var logits: [Float] = []
        for scan in scans {
            let input = try scan.input()
            logits.append(Float(try gate.background { try predictor.predict(modelInput: input) }))
        }
        let labels = scans.map { Float($0.scan.label) }
        let raw = ClassificationMetrics(logits: logits, labels: labels)
        let calibrated = ProbabilityQuality(probabilities: logits.map { predictor.probability(logit: Double($0)) }, labels: labels)
        return .init(scans: scans.count, loss: raw.loss, accuracy: raw.accuracy, auc: raw.auc,
                     calibratedLoss: calibrated.loss, calibratedAccuracy: calibrated.accuracy)
    }

    static func score(_ evaluation: ImportResult.Evaluation) -> PromotionRule.Score {
        PromotionRule.Score(accuracy: evaluation.calibratedAccuracy, loss: evaluation.calibratedLoss)
    }

    /// Whether `candidate` may replace the active model (`PromotionRule`), both scored on `scans`.
    static func decide(candidate: ImportResult.Evaluation?, active: RunRecord?, on scans: [PreparedScan], preprocessing: PreprocessParameters,
                       gate: ComputeGate) -> (promote: Bool, note: String) {
        guard let active else { return PromotionRule.decide(candidate: candidate.map(score) ?? .init(accuracy: 0, loss: 0), active: nil) }
        guard let candidate else { return (true, "promoted: no validation scans to compare on") }
        do {
            let predictor = try Predictor(model: active.folder + "/best.safetensors")
            guard predictor.preprocessing == preprocessing else { throw DaemonError(reason: "it was trained at another input size") }
            guard let activeEvaluation = try evaluate(predictor, on: scans, gate: gate) else { return (true, "promoted: no validation scans") }
            return PromotionRule.decide(candidate: score(candidate), active: score(activeEvaluation))
        } catch {
            return (true, "promoted: the active model \(active.id) cannot be scored on the current data (\(error))")
        }
    }
}
