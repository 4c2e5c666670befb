import Foundation

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
