import CTDTestSupport
import Catalog
import ContentHash
@testable import Daemon
import Foundation
import Glibc
import NIfTI
import Preprocess
import Testing

@Suite struct IngestorTests {
    let folder = TemporaryFolder()
    let folders: StateFolders
    let catalog: Catalog
    let ingestor: Ingestor

    init() throws {
        folders = StateFolders(root: folder.path)
        for path in folders.all { try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true) }
        catalog = try Catalog(path: folders.catalog)
        ingestor = Ingestor(folders: folders, catalog: catalog, parameters: PreprocessParameters(width: 48, height: 48, depth: 48),
                            reader: NIfTIReader())
    }

    func drop(_ bytes: [UInt8], as relative: String) {
        try? FileManager.default.createDirectory(atPath: (folders.inbox + "/" + relative as NSString).deletingLastPathComponent,
                                                 withIntermediateDirectories: true)
        FileManager.default.createFile(atPath: folders.inbox + "/" + relative, contents: Data(bytes))
    }

    @Test func aLabelledScanIsCachedArchivedAndRecorded() throws {
        drop(try SmallScans.niftiBytes(index: 1, abnormal: true), as: "CT-23/a.nii.gz")
        let outcome = try ingestor.ingest("CT-23/a.nii.gz", arrived: 5)
        guard case .archived(let fileID, let destination, false, false) = outcome else { Issue.record("\(outcome)"); return }
        #expect(destination == folders.archive + "/CT-23/a.nii.gz")
        #expect(FileManager.default.fileExists(atPath: destination))
        #expect(!FileManager.default.fileExists(atPath: folders.inbox + "/CT-23/a.nii.gz"))
        let file = try #require(try catalog.file(id: fileID))
        #expect(file.moved && file.label == 1 && file.arrivedAt == 5)
        let training = try catalog.labelledScans(key: ingestor.parameters.key)
        #expect(training.count == 1)
        // The cache tensor is the preprocessed scan, and its checksum matches.
        let data = try #require(FileManager.default.contents(atPath: training[0].cache.path))
        let grid = try NumPyFile.decode(Array(data)).grid
        #expect((grid.nx, grid.ny, grid.nz) == (48, 48, 48))
        #expect(try catalog.jobs(kind: .predict).isEmpty)
    }

    @Test func aRequestGetsAPredictionJobAndTheSameNameAgainIsKeptApart() throws {
        let bytes = try SmallScans.niftiBytes(index: 2, abnormal: false)
        drop(bytes, as: "x.nii.gz")
        _ = try ingestor.ingest("x.nii.gz", arrived: 1)
        drop(bytes, as: "x.nii.gz")
        guard case .archived(_, let destination, true, true) = try ingestor.ingest("x.nii.gz", arrived: 2) else {
            Issue.record("the second copy should be a known scan"); return
        }
        #expect(destination != folders.archive + "/x.nii.gz" && FileManager.default.fileExists(atPath: destination))
        #expect(try catalog.jobs(kind: .predict).count == 2)
        #expect(try catalog.scans().count == 1)
    }

    @Test func anUnreadableFileGoesToRejectedWithItsReason() throws {
        drop(Array("not a scan at all".utf8), as: "CT-0/bad.nii")
        guard case .rejected(let destination, let reason) = try ingestor.ingest("CT-0/bad.nii", arrived: 1) else {
            Issue.record("should be rejected"); return
        }
        #expect(destination == folders.rejected + "/CT-0/bad.nii")
        #expect(FileManager.default.fileExists(atPath: destination))
        let note = try String(contentsOfFile: destination + ".error.txt", encoding: .utf8)
        #expect(note.hasPrefix("CT-0/bad.nii: ") && note.contains(reason) && note.split(separator: "\n").count == 1)
        #expect(try catalog.scanCounts()[.normal, .rejected] == 1)
    }

    @Test func aFileThatWentAwayOrIsNotAScanIsLeftAlone() throws {
        #expect(try ingestor.ingest("gone.nii", arrived: 1) == .gone)
        drop([1, 2, 3], as: "notes.txt")
        #expect(try ingestor.ingest("notes.txt", arrived: 1) == .ignored)
        #expect(FileManager.default.fileExists(atPath: folders.inbox + "/notes.txt"))
        #expect(try catalog.files().isEmpty)
    }

    @Test func aRecordWhoseMoveACrashCutShortIsTakenBackAndTheFileReadAgain() throws {
        let bytes = try SmallScans.niftiBytes(index: 3, abnormal: false)
        drop(bytes, as: "CT-0/c.nii.gz")
        // What a crash between the catalog write and the rename leaves: a recorded, unmoved file.
        let file = try catalog.recordRejection(inboxPath: "CT-0/c.nii.gz", name: "c.nii.gz", hash: String(repeating: "a", count: 64), size: 1,
                                               label: 0, error: "test", destination: folders.rejected + "/CT-0/c.nii.gz", now: 1)
        #expect(try ingestor.settleUnmoved(file) == false)
        #expect(try catalog.files().isEmpty && catalog.scans().isEmpty)  // no row for a file that is not there
        guard case .archived = try ingestor.ingest("CT-0/c.nii.gz", arrived: 2) else { Issue.record("should be read again"); return }
        #expect(try catalog.files().count == 1)
    }

    @Test func aRecordWhoseFileWasMovedBeforeTheCrashIsMarkedMoved() throws {
        try FileManager.default.createDirectory(atPath: folders.rejected + "/CT-0", withIntermediateDirectories: true)
        FileManager.default.createFile(atPath: folders.rejected + "/CT-0/c.nii.gz", contents: Data([1, 2, 3]))
        let file = try catalog.recordRejection(inboxPath: "CT-0/c.nii.gz", name: "c.nii.gz", hash: String(repeating: "a", count: 64), size: 3,
                                               label: 0, error: "test", destination: folders.rejected + "/CT-0/c.nii.gz", now: 1)
        #expect(try ingestor.settleUnmoved(file) == true)
        #expect(try catalog.unmovedFiles().isEmpty && catalog.files().count == 1)
    }

    // MARK: Hostile inboxes

    /// A 250-byte name: its tagged copy and its note would pass NAME_MAX (255) without shortening.
    static let longStem = String(repeating: "A", count: 243)

    @Test func aLongNameThatCollidesIsShortenedKeepingItsTagAndExtension() throws {
        let name = Self.longStem + ".nii.gz"
        #expect(name.utf8.count == 250)
        drop(try SmallScans.niftiBytes(index: 1, abnormal: false), as: "CT-0/" + name)
        _ = try ingestor.ingest("CT-0/" + name, arrived: 1)
        drop(try SmallScans.niftiBytes(index: 2, abnormal: false), as: "CT-0/" + name)
        guard case .archived(_, let second, false, false) = try ingestor.ingest("CT-0/" + name, arrived: 2) else {
            Issue.record("the second file should be archived"); return
        }
        let shortened = (second as NSString).lastPathComponent
        #expect(shortened.utf8.count <= 255 - ".error.txt".utf8.count)
        #expect(shortened.hasSuffix(".nii.gz") && shortened.contains("-") && FileManager.default.fileExists(atPath: second))
        #expect(try catalog.files().count == 2 && catalog.unmovedFiles().isEmpty)
    }

    @Test func aLongNameWithBadContentGetsANoteThatFits() throws {
        let name = Self.longStem + "\n\u{1B}[31m.nii"  // a newline and a terminal escape, too
        drop(Array("not a scan".utf8), as: name)
        guard case .rejected(let destination, _) = try ingestor.ingest(name, arrived: 1) else { Issue.record("should be rejected"); return }
        let note = try String(contentsOfFile: destination + ".error.txt", encoding: .utf8)
        #expect(note.split(separator: "\n").count == 1 && note.contains("\\n\\u{1B}[31m.nii: "))
    }

    @Test func symlinksFIFOsAndFoldersAreNeverRead() throws {
        let outside = folder.path + "/outside.nii.gz"
        _ = FileManager.default.createFile(atPath: outside, contents: Data(try SmallScans.niftiBytes(index: 4, abnormal: true)))
        try FileManager.default.createSymbolicLink(atPath: folders.inbox + "/CT-23/link.nii.gz", withDestinationPath: outside)
        try FileManager.default.createDirectory(atPath: folders.inbox + "/ward", withIntermediateDirectories: true)
        try FileManager.default.createSymbolicLink(atPath: folders.inbox + "/ward/sub", withDestinationPath: folder.path)
        #expect(mkfifo(folders.inbox + "/fifo.nii", 0o600) == 0)
        try FileManager.default.createDirectory(atPath: folders.inbox + "/folder.nii", withIntermediateDirectories: true)
        for relative in ["CT-23/link.nii.gz", "ward/sub/outside.nii.gz", "fifo.nii", "folder.nii"] {
            #expect(try ingestor.ingest(relative, arrived: 1) == .ignored, "\(relative)")
        }
        #expect(try catalog.files().isEmpty && catalog.scans().isEmpty)
        #expect(FileManager.default.fileExists(atPath: folders.inbox + "/CT-23/link.nii.gz"))
    }

    @Test func aFileSwappedBeforeTheMoveIsPutBackAndNothingIsRecorded() throws {
        let bytes = try SmallScans.niftiBytes(index: 5, abnormal: false)
        drop(bytes, as: "swap.nii.gz")
        let input = try InboxFile(root: folders.inbox, relative: "swap.nii.gz")
        // A writer renames a symlink over the name after the open.
        try FileManager.default.createSymbolicLink(atPath: folders.inbox + "/.swap", withDestinationPath: "/etc/passwd")
        #expect(rename(folders.inbox + "/.swap", folders.inbox + "/swap.nii.gz") == 0)
        _ = try NIfTIReader().read(from: input, name: "swap.nii.gz")
        let read = try #require(try input.finish())
        #expect(read.hash == ContentHash.sha256(bytes) && read.size == bytes.count)  // the bytes opened, not the link's
        #expect(try input.move(to: folders.archive + "/swap.nii.gz") == .replaced)
        #expect(!FileManager.default.fileExists(atPath: folders.archive + "/swap.nii.gz"))
        #expect((try? FileManager.default.destinationOfSymbolicLink(atPath: folders.inbox + "/swap.nii.gz")) == "/etc/passwd")
    }

    @Test func aFileThatGrowsWhileReadIsNotTakenForWhatWasRead() throws {
        drop(try SmallScans.niftiBytes(index: 6, abnormal: false), as: "grow.nii.gz")
        let input = try InboxFile(root: folders.inbox, relative: "grow.nii.gz")
        let handle = try #require(FileHandle(forWritingAtPath: folders.inbox + "/grow.nii.gz"))
        try handle.seekToEnd()
        try handle.write(contentsOf: Data([1, 2, 3]))
        try handle.close()
        #expect(try input.finish() == nil)
    }

    @Test func aTruncatedFileIsACopyInProgressUntilTheGraceEnds() throws {
        let bytes = try SmallScans.niftiBytes(index: 7, abnormal: true)
        drop(Array(bytes.prefix(bytes.count / 2)), as: "CT-23/slow.nii.gz")
        let modified = try #require(WatchWorker.observation(folders.inbox + "/CT-23/slow.nii.gz")).modified
        #expect(try ingestor.ingest("CT-23/slow.nii.gz", arrived: 1, now: modified + 5) == .incomplete(until: modified + 600))
        #expect(try catalog.files().isEmpty && FileManager.default.fileExists(atPath: folders.inbox + "/CT-23/slow.nii.gz"))
        // Still cut short after the grace: a truncated file.
        guard case .rejected(_, let reason) = try ingestor.ingest("CT-23/slow.nii.gz", arrived: 1, now: modified + 601) else {
            Issue.record("should be rejected once the grace is over"); return
        }
        #expect(reason.contains("truncated"))
        // A file that is bad in another way is rejected at once.
        drop(Array(repeating: 7, count: 400), as: "CT-23/bad.nii")
        guard case .rejected = try ingestor.ingest("CT-23/bad.nii", arrived: 1) else { Issue.record("should be rejected"); return }
    }

    @Test func theSameContentLabelledBothWaysIsLeftOutOfTrainingUntilOneCopyIsRemoved() throws {
        let bytes = try SmallScans.niftiBytes(index: 8, abnormal: true)
        drop(bytes, as: "CT-23/x.nii.gz")
        _ = try ingestor.ingest("CT-23/x.nii.gz", arrived: 1)
        drop(bytes, as: "CT-0/x.nii.gz")
        guard case .conflicting(_, let destination, 1) = try ingestor.ingest("CT-0/x.nii.gz", arrived: 2) else {
            Issue.record("should be a conflict"); return
        }
        #expect(try catalog.labelledScans(key: ingestor.parameters.key).isEmpty)
        #expect(try catalog.scans(label: .conflict, state: nil, limit: 10).count == 1)
        #expect(try catalog.resolveLabelConflicts(now: 3, exists: { access($0, F_OK) == 0 }).isEmpty)
        // The abnormal copy was the mistake: removing it from archive/ leaves the normal label.
        #expect(unlink(folders.archive + "/CT-23/x.nii.gz") == 0 && destination == folders.archive + "/CT-0/x.nii.gz")
        #expect(try catalog.resolveLabelConflicts(now: 3, exists: { access($0, F_OK) == 0 }).count == 1)
        let training = try catalog.labelledScans(key: ingestor.parameters.key)
        #expect(training.count == 1 && training.first?.scan.label == 0)
    }

    @Test func aMoveThatFailsRecordsNothingAndLeavesTheFile() throws {
        drop(try SmallScans.niftiBytes(index: 9, abnormal: false), as: "CT-0/m.nii.gz")
        try FileManager.default.removeItem(atPath: folders.archive)
        _ = FileManager.default.createFile(atPath: folders.archive, contents: Data())  // archive/ is a file: no folder can be made
        #expect(throws: (any Error).self) { try ingestor.ingest("CT-0/m.nii.gz", arrived: 1) }
        #expect(try catalog.files().isEmpty && catalog.scans().isEmpty)
        #expect(FileManager.default.fileExists(atPath: folders.inbox + "/CT-0/m.nii.gz"))
        // A file parked after failing too often goes to rejected/ with the reason.
        guard case .rejected(let destination, "failed 3 times") = try ingestor.park("CT-0/m.nii.gz", reason: "failed 3 times", now: 2) else {
            Issue.record("should be parked in rejected/"); return
        }
        #expect(FileManager.default.fileExists(atPath: destination) && !FileManager.default.fileExists(atPath: folders.inbox + "/CT-0/m.nii.gz"))
    }
}
