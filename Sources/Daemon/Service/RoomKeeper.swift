import Catalog
import Foundation
import Glibc
import Logging
import Scheduling

/// Whether the state folder has at least `limits.min_free_bytes` free (`Scheduling.DiskSpace`).
/// Below that, ingest, predictions and training wait (files stay in the inbox, nothing counts as
/// a failed attempt), so that a full disk never costs a scan or corrupts the catalog; work
/// resumes by itself once space returns. Each change is logged once.
public final class RoomKeeper: @unchecked Sendable {
    let root: String
    private let catalog: Catalog
    private let log: Logger
    private let freeSpace: @Sendable (String) -> Int64?
    private let reserve: () -> Int64
    /// Called when space comes back (`whenSpaceReturns`): the watcher rescans (files it could not
    /// queue) and workers wake.
    private var cameBack: @Sendable () -> Void = {}
    private let lock = NSLock()
    private var space = DiskSpace()
    /// Jobs that could not even be returned to the queue while the disk was full.
    private var unreleased: [JobRecord] = []

    init(root: String, catalog: Catalog, log: Logger, freeSpace: @escaping @Sendable (String) -> Int64?, reserve: @escaping () -> Int64) {
        (self.root, self.catalog, self.log, self.freeSpace, self.reserve) = (root, catalog, log, freeSpace, reserve)
    }

    func whenSpaceReturns(_ action: @escaping @Sendable () -> Void) { lock.withLock { cameBack = action } }

    func hasRoom() -> Bool {
        guard let free = freeSpace(root) else { return true }
        let reserve = reserve()
        let (room, change) = lock.withLock { space.observe(free: free, reserve: reserve) }
        switch change {
        case .none:
            break
        case .cameBack(let free):
            log.notice("disk space is back in \(root) (\(Self.megabytes(free)) free): resuming ingest, predictions and training")
            let stranded = lock.withLock { () -> [JobRecord] in
                defer { unreleased = [] }
                return unreleased
            }
            for job in stranded {
                do { try catalog.release(jobID: job.id, now: Daemon.now()) } catch {
                    log.error("cannot return \(job.kind.rawValue) of \(job.subject) to the queue: \(error); it is retried on the next start")
                }
            }
            lock.withLock { cameBack }()
        case .ranOut(let free, let needed, let afterFailedWrite):
            let why = afterFailedWrite ? "a write ran out of space; waiting for \(Self.megabytes(needed))" : "less than limits.min_free_bytes (\(Self.megabytes(needed)))"
            log.error("\(root) has \(Self.megabytes(free)) free, \(why): ingest, predictions and training wait until space is freed; files stay in the inbox")
        }
        return room
    }

    /// A write failed for want of space: the bar for "room" rises until that much is free.
    func noteFailedWrite() {
        guard let free = freeSpace(root) else { return }
        let reserve = reserve()
        lock.withLock { space.writeFailed(free: free, reserve: reserve) }
    }

    /// Returns a job to the queue, without counting the attempt, to wait for disk space.
    func releaseForSpace(_ job: JobRecord, after error: any Error) {
        log.warning("\(job.kind.rawValue) of \(job.subject) waits for disk space: \(error)")
        do {
            try catalog.release(jobID: job.id, now: Daemon.now())
        } catch {
            // Not even the catalog could be written: try again once there is room.
            log.error("cannot return \(job.kind.rawValue) of \(job.subject) to the queue yet: \(error)")
            lock.withLock { unreleased.append(job) }
        }
    }

    /// Whether the disk was last seen short (without looking again).
    var isShort: Bool { lock.withLock { space.shortAt != nil } }

    /// "disk full: 3 MB free in <root>", or nil while there is room.
    var problem: String? {
        lock.withLock { space.shortAt }.map { "disk full: \(Self.megabytes($0)) free in \(root)" }
    }

    public static func fileSystemFreeBytes(_ path: String) -> Int64? {
        var info = statvfs()
        guard statvfs(path, &info) == 0 else { return nil }
        return Int64(info.f_bavail) * Int64(info.f_frsize)
    }

    /// Rounded down, so that free space just under a limit never reads as equal to it.
    static func megabytes(_ bytes: Int64) -> String {
        String(format: "%.1f MB", (Double(bytes) / 1_048_576 * 10).rounded(.down) / 10)
    }
}
