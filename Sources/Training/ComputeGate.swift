import Foundation

/// Shares the CPU between training and predictions. Training runs each step (and each
/// validation batch) through `background`; predictions go through `urgent`. A waiting prediction
/// goes before the next training step, so it waits at most for the step already running.
/// On two cores, running both at once slows both (oneDNN already uses every core for each): one at a time.
public final class ComputeGate: @unchecked Sendable {
    private let condition = NSCondition()
    private var busy = false
    private var urgentWaiting = 0

    public init() {}

    public func urgent<T>(_ body: () throws -> T) rethrows -> T {
        condition.lock()
        urgentWaiting += 1
        while busy { condition.wait() }
        urgentWaiting -= 1
        busy = true
        condition.unlock()
        defer { release() }
        return try body()
    }

    public func background<T>(_ body: () throws -> T) rethrows -> T {
        condition.lock()
        while busy || urgentWaiting > 0 { condition.wait() }
        busy = true
        condition.unlock()
        defer { release() }
        return try body()
    }

    /// Whether a prediction is waiting for the CPU (for tests and status).
    public var hasUrgentWaiting: Bool {
        condition.lock()
        defer { condition.unlock() }
        return urgentWaiting > 0
    }

    private func release() {
        condition.lock()
        busy = false
        condition.broadcast()
        condition.unlock()
    }
}
