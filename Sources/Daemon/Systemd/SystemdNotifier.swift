import CSystemd
import Foundation

/// Tells systemd how the daemon is doing (sd_notify): READY once it serves, STATUS with a
/// one-line summary, RELOADING around a reload, STOPPING at shutdown, and WATCHDOG pings.
/// Outside systemd (no NOTIFY_SOCKET) every call is a no-op.
public struct SystemdNotifier: Sendable {
    public init() {}

    /// How often to ping the watchdog (half its timeout), or nil when no watchdog is set.
    public var watchdogInterval: Double? {
        var microseconds: UInt64 = 0
        guard sd_watchdog_enabled(0, &microseconds) > 0, microseconds > 0 else { return nil }
        return Double(microseconds) / 2e6
    }

    public func ready(status: String) { send("READY=1\nSTATUS=\(oneLine(status))") }
    public func status(_ text: String) { send("STATUS=\(oneLine(text))") }
    public func reloading() {
        var now = timespec()
        clock_gettime(CLOCK_MONOTONIC, &now)
        send("RELOADING=1\nMONOTONIC_USEC=\(UInt64(now.tv_sec) * 1_000_000 + UInt64(now.tv_nsec) / 1000)")
    }
    public func reloaded(status: String) { send("READY=1\nSTATUS=\(oneLine(status))") }
    public func stopping() { send("STOPPING=1\nSTATUS=stopping") }
    public func watchdog() { send("WATCHDOG=1") }

    private func send(_ text: String) { _ = sd_notify(0, text) }

    /// A newline inside STATUS would start a new assignment.
    private func oneLine(_ text: String) -> String { text.replacingOccurrences(of: "\n", with: " ") }
}
