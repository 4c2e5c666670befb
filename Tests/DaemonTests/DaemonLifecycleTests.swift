import AtomicFile
import CTDTestSupport
import Catalog
@testable import Daemon
import Foundation
import GRDB
import Logging
import Preprocess
import Testing

/// The daemon in this process: the cache follows the preprocessing parameters, a second daemon
/// cannot share a state folder, and a silent worker is reported as stuck.
@Suite(.serialized) struct DaemonLifecycleTests {
    let folder = TemporaryFolder()

    func config(size: Int) -> DaemonConfig {
        var config = DaemonConfig()
        config.stateDirectory = folder.path + "/state"
        config.training.width = size
        config.training.height = size
        config.training.depth = size
        config.settleSeconds = 0.1
        config.retrain.minNewLabels = 1000
        return config
    }

    static let logger = Logger(label: "test") { SystemdLogHandler(label: $0, level: .error) }

    /// Runs a daemon until `done` holds (or 60 s), then stops it.
    func run(_ config: DaemonConfig, until done: (Daemon) -> Bool) throws {
        let daemon = try Daemon(config: config, logger: Self.logger)
        let thread = Thread { try? daemon.run() }
        thread.start()
        let finished = DaemonProcess.wait(60) { done(daemon) }
        daemon.stop()
        #expect(DaemonProcess.wait(30) { thread.isFinished }, "the daemon did not stop within 30 s")
        #expect(finished)
    }

    /// A 48³ model that trains once its 8 normal and 8 abnormal scans (dropped into the inbox's
    /// CT-0/ and CT-23/) are ingested.
    func trainingSetup(epochs: Int) throws -> DaemonConfig {
        var config = config(size: 48)
        config.training.epochs = epochs
        config.retrain.minNewLabels = 16
        config.retrain.minPerClass = 8
        config.retrain.interval = 0
        for (folder, abnormal) in [("CT-0", false), ("CT-23", true)] {
            try FileManager.default.createDirectory(atPath: config.folders.inbox + "/" + folder, withIntermediateDirectories: true)
            for index in 0..<8 {
                FileManager.default.createFile(atPath: config.folders.inbox + "/\(folder)/s\(index).nii.gz",
                                               contents: Data(try SmallScans.niftiBytes(index: index, abnormal: abnormal)))
            }
        }
        return config
    }

    @Test func changingThePreprocessingRebuildsTheCacheFromTheArchive() throws {
        let small = config(size: 48)
        try FileManager.default.createDirectory(atPath: small.folders.inbox + "/CT-0", withIntermediateDirectories: true)
        for index in 0..<3 {
            FileManager.default.createFile(atPath: small.folders.inbox + "/CT-0/s\(index).nii.gz",
                                           contents: Data(try SmallScans.niftiBytes(index: index, abnormal: false)))
        }
        try run(small) { (try? $0.catalog.labelledScans(key: small.training.preprocessing.key).count) == 3 }
        let oldTensors = try FileManager.default.contentsOfDirectory(atPath: small.folders.cache)
        #expect(oldTensors.count == 3 && oldTensors.allSatisfy { $0.contains(small.training.preprocessing.key) })

        let larger = config(size: 56)
        let key = larger.training.preprocessing.key
        try run(larger) { (try? $0.catalog.labelledScans(key: key).count) == 3 }
        let catalog = try Catalog(path: larger.folders.catalog)
        #expect(try catalog.scansMissingCache(key: key).isEmpty)
        let tensors = try FileManager.default.contentsOfDirectory(atPath: larger.folders.cache)
        #expect(tensors.count == 3 && tensors.allSatisfy { $0.contains(key) }, "\(tensors)")
        let data = try #require(FileManager.default.contents(atPath: larger.folders.cache + "/" + tensors[0]))
        let grid = try NumPyFile.decode(Array(data)).grid
        #expect((grid.nx, grid.ny, grid.nz) == (56, 56, 56))
    }

    static let queueLimit = "/proc/sys/fs/inotify/max_queued_events"
    static let canShrinkQueue = getuid() == 0 && FileManager.default.isWritableFile(atPath: queueLimit)

    @Test func aThousandFilesAtOnceAreAllAccountedFor() throws {
        try flood(shrinkingTheQueue: false)
    }

    /// With a 64-event inotify queue, a thousand files usually overflow it (how often depends on how
    /// fast the watch thread reads): whatever happens, the rescan must find them all.
    @Test(.enabled(if: canShrinkQueue)) func anOverflowedQueueIsFollowedByARescanThatMissesNothing() throws {
        try flood(shrinkingTheQueue: true)
    }

    /// The overflow itself, without a reader racing the writer: a watcher created with a 64-event
    /// queue that is not read while 200 files arrive reports `.overflow`.
    @Test(.enabled(if: canShrinkQueue)) func aWatcherReportsItsQueueOverflowing() throws {
        let inbox = folder.path + "/overflow"
        try FileManager.default.createDirectory(atPath: inbox, withIntermediateDirectories: true)
        let original = try String(contentsOfFile: Self.queueLimit, encoding: .utf8)
        try "64\n".write(toFile: Self.queueLimit, atomically: false, encoding: .utf8)
        let watcher: InboxWatcher
        do {
            defer { try? original.write(toFile: Self.queueLimit, atomically: false, encoding: .utf8) }
            watcher = try InboxWatcher(root: inbox)
        }
        try watcher.watchTree()
        for index in 0..<200 { FileManager.default.createFile(atPath: inbox + "/f\(index).nii", contents: Data([1])) }
        #expect(try watcher.next(timeout: 1).contains(.overflow))
    }

    @discardableResult
    func flood(shrinkingTheQueue: Bool) throws -> Daemon {
        let config = config(size: 48)
        try FileManager.default.createDirectory(atPath: config.folders.inbox + "/flood", withIntermediateDirectories: true)
        let daemon = try Daemon(config: config, logger: Self.logger)
        // The queue size is read when an inotify instance is created: shrink it for the daemon's only.
        let original = try String(contentsOfFile: Self.queueLimit, encoding: .utf8)
        if shrinkingTheQueue { try "64\n".write(toFile: Self.queueLimit, atomically: false, encoding: .utf8) }
        let thread = Thread { try? daemon.run() }
        thread.start()
        defer {
            daemon.stop()
            #expect(DaemonProcess.wait(30) { thread.isFinished }, "the daemon did not stop within 30 s")
        }
        let watching = DaemonProcess.wait(10) { daemon.isWatching }
        if shrinkingTheQueue { try original.write(toFile: Self.queueLimit, atomically: false, encoding: .utf8) }
        #expect(watching)
        // Unreadable on purpose (each a few bytes, different content): cheap to judge, so the test
        // measures the watching and bookkeeping, not preprocessing.
        for index in 0..<1000 {
            FileManager.default.createFile(atPath: config.folders.inbox + "/flood/f\(index).nii", contents: Data("not a scan \(index)".utf8))
        }
        // A file is recorded, then moved, then marked moved: wait for the mark, not the record.
        #expect(DaemonProcess.wait(120) { (try? daemon.catalog.files().filter(\.moved).count) == 1000 },
                "\((try? daemon.catalog.files().filter(\.moved).count) ?? 0) of 1000 moved")
        let files = try daemon.catalog.files()
        #expect(Set(files.map(\.inboxPath)).count == 1000 && files.allSatisfy { $0.outcome == .rejected && $0.moved })
        #expect(try FileManager.default.contentsOfDirectory(atPath: config.folders.inbox + "/flood").isEmpty)
        #expect(try FileManager.default.contentsOfDirectory(atPath: config.folders.rejected + "/flood").count == 2000)  // file + .error.txt
        return daemon
    }

    @Test func aRunThatEndedJustBeforeACrashIsRecordedAsEndedNotFailed() throws {
        var config = try trainingSetup(epochs: 2)
        try run(config) { (try? $0.catalog.activeRun()) != nil }
        // What a SIGKILL between run.json's final write and the catalog's leaves: the run still
        // "running" in the catalog and its job open.
        let catalog = try Catalog(path: config.folders.catalog)
        let ended = try #require(try catalog.activeRun())
        #expect(ended.state == .finished)
        try catalog.startRun(id: ended.id, folder: ended.folder, reason: "test", trainCount: 0, validationCount: 0, now: 0)
        #expect(try catalog.enqueue(.train, subject: ended.id, now: 0))

        config.retrain.minNewLabels = 1000
        try run(config) { (try? $0.catalog.run(id: ended.id))??.state != .running }
        let after = try #require(try catalog.run(id: ended.id))
        #expect(after.state == .finished && after.error == nil, "\(after)")
        #expect(try catalog.epochs(runID: ended.id).map(\.epoch) == [1, 2])
        #expect(try catalog.jobCounts()[.train]?[.parked] == nil)
    }

    @Test func aRunBeyondTheMemoryBudgetReadsItsTensorsFromTheCache() throws {
        var config = try trainingSetup(epochs: 1)
        config.trainingMemoryBytes = 0
        try run(config) { (try? $0.catalog.activeRun()) != nil }
        let catalog = try Catalog(path: config.folders.catalog)
        let run = try #require(try catalog.activeRun())
        #expect(run.state == .finished && run.valAcc != nil)
        #expect(try catalog.epochs(runID: run.id).map(\.epoch) == [1])
    }

    @Test func aSecondDaemonCannotShareTheStateFolder() throws {
        let first = try Daemon(config: config(size: 48), logger: Self.logger)
        do {
            _ = try Daemon(config: config(size: 48), logger: Self.logger)
            Issue.record("a second daemon opened the same state folder")
        } catch {
            #expect("\(error)".contains("another ctd is using this state folder"))
        }
        _ = first
    }

    @Test func aFullDiskHoldsWorkUntilSpaceReturns() throws {
        let config = config(size: 48)
        let free = FreeSpace(bytes: 1 << 20)  // 1 MB: below the default limits.min_free_bytes
        let daemon = try Daemon(config: config, logger: Self.logger, freeSpace: { _ in free.bytes })
        let thread = Thread { try? daemon.run() }
        thread.start()
        defer {
            daemon.stop()
            #expect(DaemonProcess.wait(30) { thread.isFinished }, "the daemon did not stop within 30 s")
        }
        #expect(DaemonProcess.wait(10) { daemon.isWatching })
        let labelled = config.folders.inbox + "/CT-0"
        for index in 0..<3 {
            FileManager.default.createFile(atPath: "\(labelled)/s\(index).nii.gz", contents: Data(try SmallScans.niftiBytes(index: index, abnormal: false)))
        }
        #expect(DaemonProcess.wait(10) { (try? daemon.catalog.jobCounts()[.ingest]?[.queued]) == 3 })
        Thread.sleep(forTimeInterval: 1.5)
        #expect(try daemon.catalog.files().isEmpty, "nothing is ingested while the disk is full")
        #expect(try FileManager.default.contentsOfDirectory(atPath: labelled).count == 3, "the scans wait in the inbox")
        #expect(daemon.statusLine().contains("disk full: 1.0 MB free"))
        let problems = try daemon.commands.status().problems ?? []
        #expect(problems.count == 1 && problems[0].contains("min_free_bytes"))

        free.bytes = 50 << 30
        #expect(DaemonProcess.wait(20) { (try? daemon.catalog.labelledScans(key: config.training.preprocessing.key).count) == 3 })
        // A file is recorded, then moved, then marked moved: wait for the last mark.
        #expect(DaemonProcess.wait(10) { (try? daemon.catalog.files().allSatisfy { $0.outcome == .archived && $0.moved }) == true })
        let after = try daemon.commands.status().problems
        #expect(after == nil && !daemon.statusLine().contains("disk full"))
    }

    @Test func freeSpaceJustUnderALimitDoesNotReadAsEqualToIt() {
        #expect(RoomKeeper.megabytes(8 << 20) == "8.0 MB")
        #expect(RoomKeeper.megabytes((8 << 20) - 1) == "7.9 MB")
    }

    @Test func outOfSpaceIsRecognisedByKindFromAnyLayer() throws {
        #expect(JobRunner.failureKind(AtomicFile.WriteError(path: "models/r/last.safetensors", code: ENOSPC)) == .outOfSpace)
        #expect(JobRunner.failureKind(AtomicFile.WriteError(path: "cache/x.npy", code: EDQUOT)) == .outOfSpace)
        #expect(JobRunner.failureKind(AtomicFile.WriteError(path: "cache/x.npy", code: EACCES)) == .transient)
        #expect(JobRunner.failureKind(DaemonError(reason: "archive/a.nii: cannot move the inbox file here", code: ENOSPC)) == .outOfSpace)
        // The text alone decides nothing.
        #expect(JobRunner.failureKind(DaemonError(reason: "cannot write: \(String(cString: strerror(ENOSPC)))")) == .transient)
        #expect(JobRunner.failureKind(DatabaseError(resultCode: .SQLITE_FULL, message: "database or disk is full")) == .outOfSpace)
        #expect(JobRunner.failureKind(DatabaseError(resultCode: .SQLITE_BUSY)) == .transient)
        let folderError = NSError(domain: NSCocoaErrorDomain, code: 642, userInfo: [NSUnderlyingErrorKey: NSError(domain: NSPOSIXErrorDomain, code: Int(ENOSPC))])
        #expect(JobRunner.failureKind(folderError) == .outOfSpace)
    }

    @Test func aWorkerWithoutProgressIsReportedStuck() throws {
        let daemon = try Daemon(config: config(size: 48), logger: Self.logger)
        daemon.heartbeats.beat("ingest-0")
        let now = Date().timeIntervalSince1970
        #expect(daemon.heartbeats.stuck(now: now + 1).isEmpty)
        #expect(daemon.heartbeats.stuck(now: now + Heartbeats.stuckAfter + 1) == ["ingest-0"])
    }
}

/// Free space a test sets while the daemon reads it.
final class FreeSpace: @unchecked Sendable {
    private let lock = NSLock()
    private var value: Int64
    init(bytes: Int64) { value = bytes }
    var bytes: Int64 {
        get { lock.withLock { value } }
        set { lock.withLock { value = newValue } }
    }
}
