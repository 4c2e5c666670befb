import Foundation

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
