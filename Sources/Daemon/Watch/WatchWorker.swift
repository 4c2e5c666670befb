import Catalog
import Foundation
import Glibc
import Logging
import Scheduling

/// The watch stage: inotify on the inbox, settling (`Settling`), periodic rescans, and files to
/// look at again later; a settled file becomes an ingest job. The watcher's thread also feeds
/// systemd's watchdog (while every worker beats) and its status line.
final class WatchWorker: Worker, @unchecked Sendable {
    let name = "watch"
    private let folders: StateFolders
    private let catalog: Catalog
    private let config: CurrentConfig
    private let room: RoomKeeper
    private let log: Logger
    private let notifier: SystemdNotifier
    private let heartbeats: Heartbeats
    /// Rung when a file is queued for ingest.
    private let ingest: Doorbell
    private let statusLine: @Sendable () -> String

    private let lock = NSLock()
    private let stopping = Flag()
    /// Shared with the trainer: scheduled training waits too while paused.
    private let paused: Flag
    private var rescanRequested = false
    private var watching = false
    /// Inbox files to look at again at a time (copies in progress; files that changed during ingest).
    private var lookAgain: [String: Double] = [:]
    private var watcher: InboxWatcher?

    init(folders: StateFolders, catalog: Catalog, config: CurrentConfig, room: RoomKeeper, log: Logger, notifier: SystemdNotifier,
         heartbeats: Heartbeats, ingest: Doorbell, paused: Flag, statusLine: @escaping @Sendable () -> String) {
        self.paused = paused
        (self.folders, self.catalog, self.config, self.room, self.log) = (folders, catalog, config, room, log)
        (self.notifier, self.heartbeats, self.ingest, self.statusLine) = (notifier, heartbeats, ingest, statusLine)
    }

    /// True once the inbox is watched.
    var isWatching: Bool { lock.withLock { watching } }
    /// While paused, new files wait in the inbox (queued requests are still answered).
    var isPaused: Bool { paused.isRaised }

    func setPaused(_ value: Bool) {
        lock.withLock {
            if paused.set(value) && !value { rescanRequested = true }
        }
        interrupt()
    }

    /// Looks at the whole inbox again now (after disk space came back: files it could not queue).
    func requestRescan() {
        lock.withLock { rescanRequested = true }
        interrupt()
    }

    /// Has the watcher look at an inbox file again at `time`, as a new arrival.
    func lookAgainLater(_ relative: String, at time: Double) {
        lock.withLock { lookAgain[relative] = min(lookAgain[relative] ?? time, time) }
        interrupt()
    }

    /// The first worker a shutdown stops: from here on, the daemon is stopping.
    func stop() {
        notifier.stopping()
        stopping.raise()
        interrupt()
    }

    var isStopping: Bool { stopping.isRaised }

    private func interrupt() { lock.withLock { watcher }?.interrupt() }

    func run() throws {
        let watcher = try InboxWatcher(root: folders.inbox)
        lock.withLock { self.watcher = watcher }
        defer { lock.withLock { self.watcher = nil } }
        var settling = Settling(settleSeconds: config.value.settleSeconds)
        func observe(_ events: [InboxWatcher.Event]) throws {
            let now = Daemon.now()
            for event in events {
                switch event {
                case .file(let relative):
                    guard InboxPath.meaning(of: relative) != .ignored else { continue }
                    if let observation = Self.observation(folders.inbox + "/" + relative) { settling.observe(relative, observation, now: now) }
                case .gone(let relative):
                    settling.forget(relative)
                case .overflow:
                    log.warning("the inotify queue overflowed: rescanning the inbox")
                    try observe(watcher.watchTree())
                }
            }
        }
        try observe(watcher.watchTree())
        log.info("watching \(folders.inbox) (\(watcher.watchedFolders) folders)")
        lock.withLock { watching = true }
        notifier.ready(status: statusLine())
        var lastRescan = Daemon.now(), lastPing = 0.0, lastStatus = 0.0
        let watchdog = notifier.watchdogInterval
        while !stopping.isRaised {
            let config = self.config.value
            settling = settling.settleSeconds == config.settleSeconds ? settling : Settling(settleSeconds: config.settleSeconds)
            // Events and interrupts end the wait at once; otherwise it lasts until the next thing due.
            // (While paused, settled files and rescans wait: they are not due.)
            let (pausedBefore, nextLook) = (paused.isRaised, lock.withLock { lookAgain.values.min() })
            let due = [pausedBefore ? nil : settling.nextDue(), nextLook, lastStatus + 5, watchdog.map { lastPing + $0 },
                       pausedBefore ? nil : lastRescan + config.rescanSeconds].compactMap { $0 }.min()!
            try observe(watcher.next(timeout: max(0.01, due - Daemon.now())))
            let now = Daemon.now()
            let (pausedNow, rescanNow, again) = lock.withLock { () -> (Bool, Bool, [String]) in
                defer { rescanRequested = false }
                let again = lookAgain.filter { $0.value <= now }.map(\.key)
                for relative in again { lookAgain[relative] = nil }
                return (paused.isRaised, rescanRequested, again)
            }
            if rescanNow {
                try observe(watcher.watchTree())
                lastRescan = now
            }
            for relative in again {
                if let observation = Self.observation(folders.inbox + "/" + relative) { settling.observe(relative, observation, now: now) }
            }
            for relative in pausedNow ? [] : settling.due(now: now) {
                guard settling.confirm(relative, now: Self.observation(folders.inbox + "/" + relative), at: now) else { continue }
                if !queue(relative, now: now) { lastRescan = min(lastRescan, now - config.rescanSeconds + 30) }
            }
            if !pausedNow, now - lastRescan >= config.rescanSeconds {
                // Network file systems deliver no events: a periodic scan catches what they miss.
                try observe(watcher.watchTree())
                lastRescan = now
            }
            if let watchdog, now - lastPing >= watchdog {
                feedWatchdog(now: now)
                lastPing = now
            }
            if now - lastStatus >= 5 {
                notifier.status(statusLine())
                lastStatus = now
            }
        }
    }

    /// Queues a settled file for ingest; false when it could not be queued (a rescan within 30 s,
    /// or once disk space is back, finds it again: it stays in the inbox).
    private func queue(_ relative: String, now: Double) -> Bool {
        do {
            // A file parked in place (its move to rejected/ failed too) waits until it changes;
            // ctime, because a copy that keeps the time stamp (cp -p, rsync -a) still sets it.
            if let parked = try catalog.parkedAt(.ingest, subject: relative),
               let changed = Self.statusChanged(folders.inbox + "/" + relative), parked >= changed { return true }
            if try catalog.enqueue(.ingest, subject: relative, now: now) { ingest.ring() }
            return true
        } catch {
            log.log(level: room.isShort ? .debug : .error,
                    "cannot queue \(FileNaming.printable(relative)) for ingest: \(error); it stays in the inbox and is picked up again")
            return false
        }
    }

    /// Fed only while every worker shows progress: a stuck one gets the daemon restarted.
    private func feedWatchdog(now: Double) {
        let stuck = heartbeats.stuck(now: now)
        if stuck.isEmpty {
            notifier.watchdog()
        } else {
            log.critical("no progress for \(Int(Heartbeats.stuckAfter)) s in \(stuck.joined(separator: ", ")): not feeding the watchdog, so systemd restarts ctd")
        }
    }

    /// When the file's inode last changed (written, renamed, created), which no copy tool can set.
    static func statusChanged(_ path: String) -> Double? {
        var info = stat()
        guard lstat(path, &info) == 0 else { return nil }
        return Double(info.st_ctim.tv_sec) + Double(info.st_ctim.tv_nsec) / 1e9
    }

    static func observation(_ path: String) -> Settling.Observation? {
        var info = stat()
        guard lstat(path, &info) == 0, (info.st_mode & S_IFMT) == S_IFREG else { return nil }
        return Settling.Observation(size: Int64(info.st_size),
                                    modified: Double(info.st_mtim.tv_sec) + Double(info.st_mtim.tv_nsec) / 1e9)
    }
}
