import Foundation

/// One finished epoch, as history.csv and the epoch line report it.
public struct EpochRecord: Sendable, Codable, Equatable {
    public var epoch: Int
    public var loss: Double
    public var accuracy: Double
    public var validationLoss: Double
    public var validationAccuracy: Double
    public var validationAUC: Double?
    public var learningRate: Double
    public var seconds: Double
    public var msPerStep: Double
    /// Where the epoch's time went: training steps, augmentation, validation.
    public var computeSeconds: Double
    public var augmentationSeconds: Double
    public var validationSeconds: Double
    /// The best accuracy any threshold reaches on the validation set, and that threshold (a
    /// probability): val_acc far below it means the decision at 0.5 is off, not the ranking.
    public var validationBestAccuracy: Double?
    public var validationBestThreshold: Double?
    /// After Platt scaling fitted on this epoch's validation logits (`Calibration`).
    public var calibratedValidationLoss: Double?
    public var calibratedValidationAccuracy: Double?
    /// Expected calibration error (10 bins) of the validation probabilities, before and after.
    public var validationECE: Double?
    public var calibratedValidationECE: Double?
    /// Of `validationSeconds`, the time spent re-estimating BatchNorm statistics.
    public var recalibrationSeconds: Double?

    private enum CodingKeys: String, CodingKey {
        case epoch, loss, seconds
        case accuracy = "acc", validationLoss = "val_loss", validationAccuracy = "val_acc", validationAUC = "val_auc"
        case learningRate = "learning_rate", msPerStep = "ms_per_step", computeSeconds = "compute_seconds"
        case augmentationSeconds = "augmentation_seconds", validationSeconds = "validation_seconds"
        case validationBestAccuracy = "val_best_acc", validationBestThreshold = "val_best_threshold"
        case calibratedValidationLoss = "val_loss_calibrated", calibratedValidationAccuracy = "val_acc_calibrated"
        case validationECE = "val_ece", calibratedValidationECE = "val_ece_calibrated", recalibrationSeconds = "recalibration_seconds"
    }
}
