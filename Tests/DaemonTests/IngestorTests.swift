import CTDTestSupport
import Catalog
import Daemon
import Foundation
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
        #expect(try catalog.scanCounts()["normal/rejected"] == 1)
    }

    @Test func aFileThatWentAwayOrIsNotAScanIsLeftAlone() throws {
        #expect(try ingestor.ingest("gone.nii", arrived: 1) == .gone)
        drop([1, 2, 3], as: "notes.txt")
        #expect(try ingestor.ingest("notes.txt", arrived: 1) == .ignored)
        #expect(FileManager.default.fileExists(atPath: folders.inbox + "/notes.txt"))
        #expect(try catalog.files().isEmpty)
    }

    @Test func aMoveCutShortByACrashIsFinishedLater() throws {
        drop(try SmallScans.niftiBytes(index: 3, abnormal: false), as: "CT-0/c.nii.gz")
        // What a crash between the catalog write and the rename leaves: a recorded, unmoved file.
        let file = try catalog.recordRejection(inboxPath: "CT-0/c.nii.gz", name: "c.nii.gz", hash: String(repeating: "a", count: 64), size: 1,
                                               label: 0, error: "test", destination: folders.rejected + "/CT-0/c.nii.gz", now: 1)
        #expect(try catalog.unmovedFiles().count == 1)
        try Ingestor.move(file, folders: folders, catalog: catalog)
        try Ingestor.move(file, folders: folders, catalog: catalog)  // repeating it is harmless
        #expect(try catalog.unmovedFiles().isEmpty)
        #expect(FileManager.default.fileExists(atPath: folders.rejected + "/CT-0/c.nii.gz"))
    }
}
