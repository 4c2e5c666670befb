import Foundation

/// When each worker last showed progress. The watcher feeds systemd's watchdog only while all of
/// them do, so a stuck worker gets the daemon restarted.
final class Heartbeats: @unchecked Sendable {
    /// A worker silent for longer than this is stuck (the unit's WatchdogSec is 120 s; idle
    /// workers beat at least every `Heartbeats.idleBeat` seconds).
    static let stuckAfter = 90.0
    /// The longest an idle worker sleeps without beating.
    static let idleBeat = 30.0

    private let lock = NSLock()
    private var last: [String: Double] = [:]

    func beat(_ worker: String, now: Double = Daemon.now()) { lock.withLock { last[worker] = now } }

    /// Workers that have shown no progress for `stuckAfter` seconds.
    func stuck(now: Double) -> [String] {
        lock.withLock { last.filter { now - $0.value > Self.stuckAfter }.map(\.key).sorted() }
    }
}
