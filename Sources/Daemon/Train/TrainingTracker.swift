import ControlProtocol
import Foundation

/// What the training thread is doing right now, for `ctctl status` and `retrain --wait`. Every
/// change is pushed: `waitForChange` returns as soon as a run starts, steps, ends or settles.
final class TrainingTracker: @unchecked Sendable {
    private let lock = NSCondition()
    private var current: TrainingInfo?
    private var epochSeconds: [Double] = []
    private var epochStart = Date()
    private var changes = 0

    var info: TrainingInfo? { lock.withLock { current } }

    /// The changes so far, to pass to `waitForChange`.
    var changeCount: Int { lock.withLock { changes } }

    /// Sleeps until a change after `seen`, or `seconds` at most.
    func waitForChange(since seen: Int, seconds: Double) {
        lock.withLock {
            if changes == seen { _ = lock.wait(until: Date(timeIntervalSinceNow: seconds)) }
        }
    }

    /// The worker is done with a run: recorded, and the new model loaded if it was promoted.
    func settled() { lock.withLock { changed() } }

    /// Called with the lock held.
    private func changed() {
        changes += 1
        lock.broadcast()
    }

    func started(runID: String, epochs: Int) {
        lock.withLock {
            current = TrainingInfo(runID: runID, epoch: 0, epochs: epochs, step: 0, steps: 0, secondsPerEpoch: nil, etaSeconds: nil, lastValAcc: nil)
            epochSeconds = []
            changed()
        }
    }

    func epochStarted(epoch: Int, epochs: Int, steps: Int) {
        lock.withLock {
            current?.epoch = epoch
            current?.epochs = epochs
            current?.steps = steps
            current?.step = 0
            epochStart = Date()
            updateETA()
            changed()
        }
    }

    func stepFinished(step: Int) {
        lock.withLock {
            current?.step = step
            updateETA()
            changed()
        }
    }

    func epochFinished(seconds: Double, validationAccuracy: Double) {
        lock.withLock {
            epochSeconds.append(seconds)
            current?.secondsPerEpoch = epochSeconds.reduce(0, +) / Double(epochSeconds.count)
            current?.lastValAcc = validationAccuracy
            if let steps = current?.steps { current?.step = steps }
            updateETA()
            changed()
        }
    }

    func ended() {
        lock.withLock {
            current = nil
            changed()
        }
    }

    private func updateETA() {
        guard let info = current, let perEpoch = info.secondsPerEpoch ?? estimatedFromSteps(info) else { return }
        let doneInEpoch = info.steps > 0 ? Double(info.step) / Double(info.steps) : 0
        current?.etaSeconds = max(0, (Double(info.epochs - info.epoch) + 1 - doneInEpoch) * perEpoch)
    }

    /// Before the first epoch ends: the time per step so far, times the steps of an epoch.
    private func estimatedFromSteps(_ info: TrainingInfo) -> Double? {
        guard info.step > 0, info.steps > 0 else { return nil }
        return Date().timeIntervalSince(epochStart) / Double(info.step) * Double(info.steps)
    }
}
