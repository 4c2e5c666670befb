/// How a model does on a labelled set it may never have seen (`ctd evaluate`): the decision at
/// 0.5 on its (calibrated) probabilities, their ranking, and their calibration.
public struct Evaluation: Codable, Sendable, Equatable {
    public var scans: Int
    public var normal: Int
    public var abnormal: Int
    /// At probability 0.5.
    public var accuracy: Double
    /// nil when one class is missing.
    public var auc: Double?
    /// Best accuracy any threshold reaches: what a recalibrated model could do on this set.
    public var bestThresholdAccuracy: Double
    public var ece: Double
    public var brier: Double
    public var loss: Double

    /// - Parameter labels: 0 normal, 1 abnormal, one per probability.
    public init(probabilities: [Double], labels: [Int]) {
        precondition(probabilities.count == labels.count, "one label per probability")
        let targets = labels.map { Float($0) }, scores = probabilities.map { Float($0) }
        let quality = ProbabilityQuality(probabilities: probabilities, labels: targets)
        scans = labels.count
        abnormal = labels.filter { $0 == 1 }.count
        normal = scans - abnormal
        accuracy = quality.accuracy
        auc = ClassificationMetrics.auc(scores: scores, labels: targets)
        bestThresholdAccuracy = scans == 0 ? 0 : ClassificationMetrics.bestThreshold(scores: scores, labels: targets).accuracy
        (ece, brier, loss) = (quality.ece, quality.brier, quality.loss)
    }

    private enum CodingKeys: String, CodingKey {
        case scans, normal, abnormal, accuracy, auc, ece, brier, loss
        case bestThresholdAccuracy = "best_threshold_accuracy"
    }
}
