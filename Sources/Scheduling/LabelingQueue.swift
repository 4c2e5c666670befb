/// Which unlabelled scans a person should label next: the ones the model is least sure of
/// (uncertainty sampling, as MONAI Label's active-learning strategies offer), from the
/// probability each one's latest report gave.
public enum LabelingQueue {
    public struct Candidate: Equatable, Sendable {
        public var scanID: Int64
        public var probabilityAbnormal: Double
        /// When it was predicted; among equally uncertain scans the older goes first.
        public var predictedAt: Double
        public init(scanID: Int64, probabilityAbnormal: Double, predictedAt: Double) {
            (self.scanID, self.probabilityAbnormal, self.predictedAt) = (scanID, probabilityAbnormal, predictedAt)
        }
        /// 1 at p = 0.5, 0 at p = 0 or 1.
        public var uncertainty: Double { 1 - 2 * abs(probabilityAbnormal - 0.5) }
    }

    /// The `limit` most uncertain candidates, most uncertain first (ties: older prediction, then
    /// lower scan id, so the order is stable).
    public static func next(_ candidates: [Candidate], limit: Int) -> [Candidate] {
        Array(candidates.sorted {
            ($0.uncertainty, -$0.predictedAt, -$0.scanID) > ($1.uncertainty, -$1.predictedAt, -$1.scanID)
        }.prefix(max(0, limit)))
    }
}
