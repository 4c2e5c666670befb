/// What a failed attempt at a job means for the job: the one rule behind the daemon's queues
/// (ingest, predict, train). Errors are judged by kind, never by their text.
public enum JobFailure {
    public enum Kind: Equatable, Sendable {
        /// The disk (or the quota) is full: not the job's fault.
        case outOfSpace
        /// It would fail the same way again: oneDNN lacks a kernel, the trainer refuses the settings.
        case recurring
        /// Anything else (I/O, memory, a bad file): worth another attempt.
        case transient
    }

    public enum Action: Equatable, Sendable {
        /// Back to the queue without counting the attempt; the queues wait until there is room.
        case waitForSpace
        /// Back to the queue, the attempt counted.
        case retry
        /// Set aside with its error, not tried again (an ingest's file goes to rejected/).
        case park
    }

    /// - Parameters:
    ///   - attempts: attempts made so far, this one included.
    ///   - room: whether the state folder has room now (after a failed write raised the bar).
    public static func action(_ kind: Kind, attempts: Int, maxAttempts: Int, room: Bool) -> Action {
        // While the disk is short, every failure may be its consequence: nothing counts.
        if !room { return .waitForSpace }
        switch kind {
        case .recurring: return .park
        case .outOfSpace, .transient: return attempts >= maxAttempts ? .park : .retry
        }
    }
}
