/// The seed's callbacks as a pure state machine: keep the checkpoint with the lowest validation
/// loss (`ModelCheckpoint(save_best_only=True)`), stop when validation accuracy has not improved
/// for `patience` epochs (`EarlyStopping(monitor="val_acc", patience=15)`). Saved in checkpoints
/// so a resumed run keeps counting where it stopped.
public struct EarlyStopping: Sendable, Codable, Equatable {
    public let patience: Int
    public private(set) var bestValidationLoss = Double.infinity
    public private(set) var bestEpoch: Int?
    public private(set) var bestValidationAccuracy = -Double.infinity
    public private(set) var epochsWithoutImprovement = 0

    public init(patience: Int) {
        self.patience = patience
    }

    public struct Decision: Equatable, Sendable {
        /// This epoch's model is the best so far: save it as best.
        public var saveBest: Bool
        /// Training should end after this epoch.
        public var stop: Bool
    }

    /// Records one finished epoch's validation figures.
    public mutating func record(epoch: Int, validationLoss: Double, validationAccuracy: Double) -> Decision {
        let better = validationLoss < bestValidationLoss
        if better {
            bestValidationLoss = validationLoss
            bestEpoch = epoch
        }
        if validationAccuracy > bestValidationAccuracy {
            bestValidationAccuracy = validationAccuracy
            epochsWithoutImprovement = 0
        } else {
            epochsWithoutImprovement += 1
        }
        return Decision(saveBest: better, stop: shouldStop)
    }

    /// Whether the epochs recorded so far have used up the patience.
    public var shouldStop: Bool { epochsWithoutImprovement >= patience }
}
