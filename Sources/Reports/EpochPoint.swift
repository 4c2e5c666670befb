/// One epoch of training history: what Keras keeps as `history["loss"]`, `["acc"]`, `["val_loss"]`,
/// `["val_acc"]`. Values may be NaN or infinite (a diverged run); plots skip them.
public struct EpochPoint: Sendable, Codable, Equatable {
    /// The epoch number, as the fit loop counts it (the curves' x axis).
    public var epoch: Int
    /// Mean training loss (binary cross-entropy) over the epoch.
    public var loss: Double
    /// Training accuracy in [0, 1].
    public var accuracy: Double
    /// Loss on the validation split after the epoch.
    public var validationLoss: Double
    /// Accuracy on the validation split after the epoch, in [0, 1].
    public var validationAccuracy: Double

    public init(epoch: Int, loss: Double, accuracy: Double, validationLoss: Double, validationAccuracy: Double) {
        self.epoch = epoch
        self.loss = loss
        self.accuracy = accuracy
        self.validationLoss = validationLoss
        self.validationAccuracy = validationAccuracy
    }
}
