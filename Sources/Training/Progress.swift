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

/// Receives a run's progress (the trainer calls it from its own thread).
public protocol TrainingProgress: AnyObject {
    func epochStarted(epoch: Int, of epochs: Int, steps: Int)
    func stepFinished(step: Int, of steps: Int, loss: Double, accuracy: Double, elapsed: Double)
    func epochFinished(_ record: EpochRecord, of epochs: Int, savedBest: Bool)
    func note(_ text: String)
    /// A resumed run's completed epochs, so a record that missed the last one can catch up.
    func resumed(history: [EpochRecord])
}

extension TrainingProgress {
    public func resumed(history: [EpochRecord]) {}
}

/// Keras-like output: a live bar per epoch on a terminal (plain lines otherwise), then one line
/// per epoch with time, ms/step, loss, acc, val_loss, val_acc and val_auc.
public final class TerminalProgress: TrainingProgress {
    private let write: (String) -> Void
    private let interactive: Bool
    private var lastPlainStep = 0

    /// - Parameters:
    ///   - interactive: redraw one line with a bar (a terminal); false prints a line every 10 % of an epoch.
    ///   - write: where text goes (stdout by default).
    public init(interactive: Bool = isatty(STDOUT_FILENO) != 0, write: @escaping (String) -> Void = { FileHandle.standardOutput.write(Data($0.utf8)) }) {
        self.interactive = interactive
        self.write = write
    }

    public func epochStarted(epoch: Int, of epochs: Int, steps: Int) {
        lastPlainStep = 0
        write("Epoch \(epoch)/\(epochs)\n")
    }

    public func stepFinished(step: Int, of steps: Int, loss: Double, accuracy: Double, elapsed: Double) {
        let figures = String(format: "acc: %.4f - loss: %.4f", accuracy, loss)
        let eta = step < steps ? String(format: " - ETA %.0fs", elapsed / Double(step) * Double(steps - step)) : ""
        if interactive {
            let width = 30, done = width * step / max(steps, 1)
            let bar = String(repeating: "━", count: done) + String(repeating: "─", count: width - done)
            write("\r\(step)/\(steps) \(bar) \(String(format: "%.0fs", elapsed))\(eta) - \(figures)\u{1B}[K")
        } else if step * 10 / max(steps, 1) > lastPlainStep * 10 / max(steps, 1) || step == steps {
            lastPlainStep = step
            write("\(step)/\(steps) - \(String(format: "%.0fs", elapsed))\(eta) - \(figures)\n")
        }
    }

    public func epochFinished(_ r: EpochRecord, of epochs: Int, savedBest: Bool) {
        if interactive { write("\r\u{1B}[K") }
        write(Self.epochLine(r) + (savedBest ? " - saved best" : "") + "\n")
    }

    public func note(_ text: String) { write(text + "\n") }

    /// "12s - 171ms/step - acc: 0.6000 - loss: 0.6500 - val_acc: 0.7000 - val_loss: 0.6000 - val_auc: 0.8000"
    public static func epochLine(_ r: EpochRecord) -> String {
        var line = String(format: "%.0fs - %.0fms/step - acc: %.4f - loss: %.4f - val_acc: %.4f - val_loss: %.4f",
                          r.seconds, r.msPerStep, r.accuracy, r.loss, r.validationAccuracy, r.validationLoss)
        if let auc = r.validationAUC { line += String(format: " - val_auc: %.4f", auc) }
        // What a report would decide: accuracy after this epoch's calibration, and its ECE.
        if let accuracy = r.calibratedValidationAccuracy, let ece = r.calibratedValidationECE {
            line += String(format: " - val_acc_calibrated: %.4f - val_ece_calibrated: %.4f", accuracy, ece)
        }
        return line
    }
}

/// A flag another thread sets to stop training between steps (the daemon's `ctctl cancel`).
public final class CancellationFlag: @unchecked Sendable {
    private let lock = NSLock()
    private var cancelled = false
    private var suspended = false

    public init() {}

    /// Stops the run for good: it ends as "cancelled".
    public func cancel() { lock.withLock { cancelled = true } }
    /// Stops the run so that it can be resumed (the daemon shutting down): run.json keeps
    /// "running" and last.safetensors holds the last completed epoch.
    public func suspend() { lock.withLock { cancelled = true; suspended = true } }
    public var isCancelled: Bool { lock.withLock { cancelled } }
    public var isSuspended: Bool { lock.withLock { suspended } }
}
