/// Decides when a file in the inbox is complete: an event says a writer closed it or renamed it
/// into place, but slow copies close and reopen, so a file is taken only once its size and
/// modification time have stayed the same for the settle time (Orthanc's `StableAge`).
public struct Settling: Sendable {
    public struct Observation: Equatable, Sendable {
        public var size: Int64
        public var modified: Double
        public init(size: Int64, modified: Double) { (self.size, self.modified) = (size, modified) }
    }

    public let settleSeconds: Double
    private var pending: [String: (observation: Observation, since: Double)] = [:]

    public init(settleSeconds: Double) { self.settleSeconds = settleSeconds }

    public var waiting: Int { pending.count }

    /// Records what a file looks like now (after an event or a rescan).
    public mutating func observe(_ path: String, _ observation: Observation, now: Double) {
        if let known = pending[path], known.observation == observation { return }
        pending[path] = (observation, now)
    }

    /// The file disappeared (deleted or moved away before it was read).
    public mutating func forget(_ path: String) { pending[path] = nil }

    /// Paths whose last observation is at least the settle time old, oldest first; the caller
    /// re-checks each one (`confirm`) before taking it.
    public func due(now: Double) -> [String] {
        pending.filter { now - $0.value.since >= settleSeconds }.sorted { $0.value.since < $1.value.since }.map(\.key)
    }

    /// Compares a due file with what it looks like now: unchanged → taken (and forgotten);
    /// changed → the settle time starts again.
    public mutating func confirm(_ path: String, now current: Observation?, at time: Double) -> Bool {
        guard let current else { forget(path); return false }
        guard let known = pending[path] else { return false }
        if known.observation == current {
            pending[path] = nil
            return true
        }
        pending[path] = (current, time)
        return false
    }

    /// When the next file could become due (for the watcher's poll timeout).
    public func nextDue() -> Double? {
        pending.values.map { $0.since + settleSeconds }.min()
    }
}
