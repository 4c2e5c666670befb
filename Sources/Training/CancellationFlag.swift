import Foundation

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
