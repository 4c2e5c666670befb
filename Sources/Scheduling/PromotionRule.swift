/// A finished run becomes the active model only if it is not worse than the active one, both
/// measured on the current validation set. "Not worse": accuracy at least as high, and if it is
/// only equal, a validation loss no higher (within a small tolerance).
public enum PromotionRule {
    public struct Score: Equatable, Sendable {
        public var accuracy: Double
        public var loss: Double
        public init(accuracy: Double, loss: Double) { (self.accuracy, self.loss) = (accuracy, loss) }
    }

    public static let lossTolerance = 1e-6

    /// - Returns: whether to promote, and a sentence saying why (kept in the catalog).
    public static func decide(candidate: Score, active: Score?) -> (promote: Bool, note: String) {
        guard candidate.loss.isFinite, candidate.accuracy.isFinite else { return (false, "not promoted: its validation metrics are not finite") }
        guard let active else { return (true, "promoted: no model was active") }
        let figures = "val_acc \(fmt(candidate.accuracy)) vs \(fmt(active.accuracy)), val_loss \(fmt(candidate.loss)) vs \(fmt(active.loss)) on the current validation set, each model with its calibration"
        if candidate.accuracy > active.accuracy { return (true, "promoted: higher accuracy (\(figures))") }
        if candidate.accuracy == active.accuracy, candidate.loss <= active.loss + lossTolerance {
            return (true, "promoted: same accuracy, loss no higher (\(figures))")
        }
        return (false, "not promoted: worse than the active model (\(figures))")
    }

    private static func fmt(_ x: Double) -> String {
        let scaled = (x * 10_000).rounded() / 10_000
        return "\(scaled)"
    }
}
