import CTDTestSupport
import Catalog
import ContentHash
@testable import Daemon
import Foundation
import Glibc
import Logging
import NIfTI
import Preprocess
import Testing

/// The daemon in this process against an inbox written by someone hostile or careless: copies
/// that pause, names at NAME_MAX, links and FIFOs swapped in while a file is read, the same scan
/// labelled both ways. It stays up, reads nothing outside the inbox and accounts for every file once.
@Suite(.serialized) struct HostileInboxTests {
    let folder = TemporaryFolder()

    var config: DaemonConfig {
        var config = DaemonConfig()
        config.stateDirectory = folder.path + "/state"
        (config.training.width, config.training.height, config.training.depth) = (48, 48, 48)
        config.settleSeconds = 0.1
        config.retrain.minNewLabels = 1000
        return config
    }
    var inbox: String { config.folders.inbox }

    /// Runs a daemon in a thread, logging into `log`; `stop` waits for it and returns what `run` threw.
    final class Running: @unchecked Sendable {
        let daemon: Daemon
        let log = LogLines()
        private let failure = LogLines()
        private let thread: Thread

        init(_ config: DaemonConfig) throws {
            let log = self.log, failure = self.failure
            let daemon = try Daemon(config: config, logger: Logger(label: "test") { _ in CapturingLogHandler(lines: log) })
            self.daemon = daemon
            thread = Thread {
                do { try daemon.run() } catch { failure.append("\(error)") }
            }
            thread.start()
            #expect(DaemonProcess.wait(10) { daemon.isWatching })
        }

        /// Stops the daemon; nil when `run` ended without an error.
        func stop() -> String? {
            daemon.stop()
            #expect(DaemonProcess.wait(30) { thread.isFinished }, "the daemon did not stop within 30 s")
            return failure.lines.first
        }
    }

    func makeFolder(_ path: String) throws {
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    }

    /// Writes `bytes` to `path` in five pieces with pauses longer than `watch.settle`, closing the
    /// file between pieces (as `dd >>` or a copy over SMB does) or keeping it open throughout.
    static func writeSlowly(_ bytes: [UInt8], to path: String, keepingItOpen: Bool, pause: Double = 0.5) {
        let pieces = stride(from: 0, to: bytes.count, by: (bytes.count + 4) / 5).map { Array(bytes[$0..<min($0 + (bytes.count + 4) / 5, bytes.count)]) }
        var fd: Int32 = -1
        for piece in pieces {
            if fd < 0 { fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0o644) }
            _ = piece.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
            if !keepingItOpen { close(fd); fd = -1 }
            usleep(UInt32(pause * 1_000_000))
        }
        if fd >= 0 { close(fd) }
    }

    /// Both kinds of paused writer end as one scan, archived once, never rejected, and the
    /// daemon did look at the file while it was incomplete: after each close, or (for the writer
    /// that keeps it open, which raises no event until it closes) at a rescan, here every second.
    @Test(arguments: [false, true]) func aCopyThatPausesEndsAsOneScanArchivedOnce(keepingItOpen: Bool) throws {
        try makeFolder(inbox + "/CT-23")
        var config = self.config
        config.rescanSeconds = 1
        let running = try Running(config)
        let bytes = try SmallScans.niftiBytes(index: 4, abnormal: true)
        Self.writeSlowly(bytes, to: inbox + "/CT-23/slow.nii.gz", keepingItOpen: keepingItOpen)
        let catalog = running.daemon.catalog
        #expect(DaemonProcess.wait(30) { (try? catalog.files().count) == 1 })
        usleep(500_000)  // anything more would come now
        #expect(running.stop() == nil)

        let files = try catalog.files()
        #expect(files.count == 1 && files[0].outcome == .archived && files[0].moved && files[0].label == 1, "\(files)")
        #expect(files.first?.hash == ContentHash.sha256(bytes) && files.first?.size == Int64(bytes.count))
        #expect(try FileManager.default.contentsOfDirectory(atPath: config.folders.archive + "/CT-23") == ["slow.nii.gz"])
        #expect((try? FileManager.default.contentsOfDirectory(atPath: config.folders.rejected + "/CT-23")) ?? [] == [])
        #expect(running.log.count { $0.contains("slow.nii.gz ends before its header says") } >= 1, "\(running.log.lines)")
    }

    /// Every attack at once, then a restart: the daemon stays up, each regular file dropped is
    /// recorded once where it really is, nothing outside the inbox is opened, and each cached
    /// tensor is the preprocessed content its hash names.
    @Test func aPoisonedInboxLeavesTheDaemonUpAndEveryFileAccountedForOnce() throws {
        let config = self.config
        let outside = folder.path + "/outside"
        let staging = folder.path + "/staging"
        for path in [outside + "/scans", staging, inbox + "/ward-1", inbox + "/CT-0", inbox + "/CT-23"] { try makeFolder(path) }
        // Outside the inbox: a scan of another size, which must never be opened.
        let secret = outside + "/secret.nii.gz"
        FileManager.default.createFile(atPath: secret, contents: Data(try SmallScans.niftiBytes(index: 9, abnormal: true, size: 40)))
        FileManager.default.createFile(atPath: outside + "/scans/other.nii.gz", contents: Data(try SmallScans.niftiBytes(index: 8, abnormal: true, size: 40)))
        let outsideWatch = try OpenWatch(paths: [secret, outside + "/scans", outside + "/scans/other.nii.gz"])

        var expected: [String: Int] = [:]  // inbox path → file rows it must end with
        let running = try Running(config)
        let catalog = running.daemon.catalog
        func drop(_ bytes: [UInt8], as relative: String, rows: Int = 1) {
            let path = staging + "/" + UUID().uuidString
            FileManager.default.createFile(atPath: path, contents: Data(bytes))
            #expect(rename(path, inbox + "/" + relative) == 0)
            expected[relative, default: 0] += rows
        }
        func settle(_ count: Int) { #expect(DaemonProcess.wait(30) { (try? catalog.files().count) ?? 0 >= count }, "\((try? catalog.files().count) ?? -1) of \(count) files") }

        // Long names: at 250 and 255 bytes, each archived, then a different scan under the same
        // name (its tag would pass NAME_MAX), and bad content under a 250-byte name (its note too).
        let long250 = "ward-1/" + String(repeating: "A", count: 243) + ".nii.gz"
        let long255 = "ward-1/" + String(repeating: "B", count: 248) + ".nii.gz"
        drop(try SmallScans.niftiBytes(index: 1, abnormal: false), as: long250)
        drop(try SmallScans.niftiBytes(index: 2, abnormal: false), as: long255)
        settle(2)
        drop(try SmallScans.niftiBytes(index: 3, abnormal: false), as: long250)
        drop(try SmallScans.niftiBytes(index: 5, abnormal: false), as: long255)
        drop(Array("not a scan".utf8), as: "ward-1/" + String(repeating: "C", count: 246) + ".nii")
        // Links and FIFOs dropped as such: never followed, never opened.
        #expect(symlink(secret, inbox + "/link.nii.gz") == 0)
        #expect(symlink(outside + "/scans", inbox + "/linked-folder") == 0)
        #expect(mkfifo(inbox + "/pipe.nii", 0o644) == 0)
        // The same content labelled both ways.
        let twice = try SmallScans.niftiBytes(index: 6, abnormal: false)
        drop(twice, as: "CT-0/twice.nii.gz")
        drop(twice, as: "CT-23/twice.nii.gz")
        // Swapped for a link to the secret, or for a FIFO, the moment the daemon opens them.
        let swaps = [("race-link.nii.gz", { (path: String) in symlink(secret, path) }), ("race-fifo.nii.gz", { (path: String) in mkfifo(path, 0o644) })]
        var swappedIn: [String] = []
        for (index, (name, make)) in swaps.enumerated() {
            let original = staging + "/\(name)"
            FileManager.default.createFile(atPath: original, contents: Data(try SmallScans.niftiBytes(index: 10 + index, abnormal: true)))
            let replacement = staging + "/\(name).swap"
            #expect(make(replacement) == 0)
            let opened = try OpenWatch(paths: [original])
            #expect(rename(original, inbox + "/" + name) == 0)
            if opened.waitForOpen(timeout: 10) {
                #expect(rename(replacement, inbox + "/" + name) == 0)
                swappedIn.append(name)
            }
        }
        #expect(swappedIn.count == 2, "the daemon never opened \(swaps.map(\.0).filter { !swappedIn.contains($0) })")
        let swappedHashes = try (0..<swaps.count).map { ContentHash.sha256(try SmallScans.niftiBytes(index: 10 + $0, abnormal: true)) }
        // A copy that pauses, closing the file between pieces.
        Self.writeSlowly(try SmallScans.niftiBytes(index: 7, abnormal: true), to: inbox + "/CT-23/slow.nii.gz", keepingItOpen: false, pause: 0.3)
        expected["CT-23/slow.nii.gz"] = 1
        let total = expected.values.reduce(0, +)
        settle(total)  // the raced files, if any, come on top and are quick
        usleep(500_000)
        #expect(running.stop() == nil)

        // A restart changes nothing.
        let before = try catalog.files()
        let again = try Running(config)
        usleep(1_500_000)
        #expect(again.daemon.isWatching)
        #expect(again.stop() == nil)
        let files = try Catalog(path: config.folders.catalog).files()
        #expect(files == before)

        // Each regular file dropped is recorded once, and is where its row says, with that content.
        // A swapped file is normally not recorded at all (its content left the inbox with the
        // swap); should the daemon have moved it before the swap landed, it is recorded as itself.
        let raced = files.filter { swaps.map(\.0).contains($0.inboxPath) }
        #expect(raced.allSatisfy { swappedHashes.contains($0.hash) && $0.outcome == .archived }, "\(raced)")
        #expect(files.count == total + raced.count)
        #expect(Dictionary(grouping: files.filter { !raced.contains($0) }, by: \.inboxPath).mapValues(\.count) == expected)
        for file in files {
            var info = stat()
            #expect(lstat(file.destination, &info) == 0 && (info.st_mode & S_IFMT) == S_IFREG, "\(file.destination)")
            let content = try #require(FileManager.default.contents(atPath: file.destination))
            #expect(ContentHash.sha256(Array(content)) == file.hash, "\(file.destination)")
            #expect(file.moved && (file.destination as NSString).lastPathComponent.utf8.count <= 255)
            if file.outcome == .rejected {
                #expect(FileManager.default.fileExists(atPath: file.destination + ".error.txt"))
            }
        }
        #expect(files.filter { $0.inboxPath == long250 }.map(\.destination).count == 2)
        // Left in the inbox: only what is not a regular file.
        let left = try FileManager.default.contentsOfDirectory(atPath: inbox).filter { !["CT-0", "CT-23", "ward-1"].contains($0) }.sorted()
        #expect(left == ["link.nii.gz", "linked-folder", "pipe.nii", "race-fifo.nii.gz", "race-link.nii.gz"])
        #expect(outsideWatch.opened.isEmpty, "opened outside the inbox: \(outsideWatch.opened)")

        // Every cached tensor is what its archived scan preprocesses to.
        let key = config.training.preprocessing.key
        for scan in try catalog.scans() where scan.state == .cached {
            let original = try #require(files.first { $0.hash == scan.hash && $0.outcome == .archived })
            let expectedGrid = Preprocessor(config.training.preprocessing).run(try NIfTIReader().read(path: original.destination))
            let cached = try NumPyFile.decode(Array(try #require(FileManager.default.contents(atPath: config.folders.cache + "/\(scan.hash)-\(key).npy"))))
            #expect(cached.grid.values == expectedGrid.values, "\(original.destination)")
        }
        // The conflict is recorded and kept out of training.
        let conflicted = try #require(try catalog.scan(hash: ContentHash.sha256(twice)))
        #expect(conflicted.labelConflict)
        #expect(try !catalog.labelledScans(key: key).contains { $0.scan.hash == conflicted.hash })
    }
}

/// Log lines kept for a test to read.
final class LogLines: @unchecked Sendable {
    private let lock = NSLock()
    private var stored: [String] = []
    func append(_ line: String) { lock.withLock { stored.append(line) } }
    var lines: [String] { lock.withLock { stored } }
    func count(where matches: (String) -> Bool) -> Int { lines.filter(matches).count }
}

struct CapturingLogHandler: LogHandler {
    let lines: LogLines
    var logLevel: Logger.Level = .info
    var metadata: Logger.Metadata = [:]
    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }
    func log(event: LogEvent) { lines.append("\(event.level): \(event.message)") }
}

/// inotify IN_OPEN on some paths: who opened them (files, or folders listed), and a wait for the first.
final class OpenWatch {
    private let descriptor: Int32
    private var names: [Int32: String] = [:]
    init(paths: [String]) throws {
        descriptor = inotify_init1(Int32(IN_CLOEXEC | IN_NONBLOCK))
        guard descriptor >= 0 else { throw POSIXError(.EMFILE) }
        for path in paths {
            let wd = inotify_add_watch(descriptor, path, UInt32(IN_OPEN | IN_ACCESS))
            guard wd >= 0 else { throw POSIXError(.ENOENT) }
            names[wd] = path
        }
    }
    deinit { close(descriptor) }

    /// The watched paths opened or read since the last call.
    var opened: [String] {
        var buffer = [UInt8](repeating: 0, count: 4096)
        var seen: [String] = []
        while true {
            let count = buffer.withUnsafeMutableBytes { read(descriptor, $0.baseAddress, $0.count) }
            guard count > 0 else { return seen }
            var offset = 0
            while offset < count {
                let event = buffer.withUnsafeBytes { $0.loadUnaligned(fromByteOffset: offset, as: inotify_event.self) }
                seen.append(names[event.wd] ?? "?")
                offset += MemoryLayout<inotify_event>.size + Int(event.len)
            }
        }
    }

    func waitForOpen(timeout: Double) -> Bool {
        var entry = pollfd(fd: descriptor, events: Int16(POLLIN), revents: 0)
        return poll(&entry, 1, Int32(timeout * 1000)) == 1 && !opened.isEmpty
    }
}
