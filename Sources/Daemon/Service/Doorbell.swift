import Foundation

/// A queue's doorbell: whoever adds work rings it, and the worker that sleeps on it wakes at
/// once. The ring count makes a ring between a worker's look at its queue and its wait count.
final class Doorbell: @unchecked Sendable {
    private let condition = NSCondition()
    private var rings = 0

    /// The rings so far: read before looking for work, passed to `wait`.
    var count: Int { condition.withLock { rings } }

    func ring() {
        condition.withLock {
            rings += 1
            condition.broadcast()
        }
    }

    /// Sleeps until a ring after `seen`, or `seconds` at most (the fallback for work no ring announces).
    func wait(_ seconds: Double, since seen: Int) {
        condition.withLock {
            if rings == seen { _ = condition.wait(until: Date(timeIntervalSinceNow: seconds)) }
        }
    }
}

/// A flag read and set from any thread (a worker's "stopping", the daemon's "paused").
final class Flag: @unchecked Sendable {
    private let lock = NSLock()
    private var raised = false
    var isRaised: Bool { lock.withLock { raised } }
    func raise() { set(true) }
    /// Sets it; returns what it was.
    @discardableResult
    func set(_ value: Bool) -> Bool { lock.withLock { defer { raised = value }; return raised } }
}
