import CTDTestSupport
import Daemon
import Foundation
import Testing

@Suite struct InboxWatcherTests {
    let folder = TemporaryFolder()

    /// Events until `enough` says so or 5 s pass.
    func events(_ watcher: InboxWatcher, until enough: ([InboxWatcher.Event]) -> Bool) throws -> [InboxWatcher.Event] {
        var seen: [InboxWatcher.Event] = []
        let deadline = Date().addingTimeInterval(5)
        while !enough(seen), Date() < deadline { seen += try watcher.next(timeout: 0.2) }
        return seen
    }

    @Test func filesAlreadyThereAreReportedByTheFirstScan() throws {
        try FileManager.default.createDirectory(atPath: folder.path + "/CT-0", withIntermediateDirectories: true)
        folder.write([1], to: "CT-0/a.nii")
        folder.write([1], to: "b.nii.gz")
        let watcher = try InboxWatcher(root: folder.path)
        #expect(Set(try watcher.watchTree()) == [.file("CT-0/a.nii"), .file("b.nii.gz")])
        #expect(watcher.watchedFolders == 2)
    }

    @Test func closedAndRenamedFilesAreReportedButOpenOnesAreNot() throws {
        let watcher = try InboxWatcher(root: folder.path)
        try watcher.watchTree()
        let descriptor = open(folder.path + "/slow.nii", O_WRONLY | O_CREAT, 0o644)
        let handle = FileHandle(fileDescriptor: descriptor, closeOnDealloc: true)
        // Created and opened: nothing yet (IN_CREATE is not a complete file).
        #expect(try watcher.next(timeout: 0.2).isEmpty)
        try handle.write(contentsOf: [1, 2, 3])
        try handle.close()
        let other = TemporaryFolder()
        let outside = other.write([4], to: "moved.nii")
        if rename(outside, folder.path + "/moved.nii") != 0 {
            // Another file system: copy, as mv would.
            try FileManager.default.copyItem(atPath: outside, toPath: folder.path + "/moved.nii")
        }
        let seen = try events(watcher) { $0.contains(.file("slow.nii")) && $0.contains(.file("moved.nii")) }
        #expect(seen.contains(.file("slow.nii")))
        #expect(seen.contains(.file("moved.nii")))
        unlink(folder.path + "/slow.nii")
        #expect(try events(watcher) { $0.contains(.gone("slow.nii")) }.contains(.gone("slow.nii")))
    }

    @Test func filesInANewFolderAreNotMissedEvenIfWrittenBeforeItsWatch() throws {
        let watcher = try InboxWatcher(root: folder.path)
        try watcher.watchTree()
        // The folder and its file appear before the watcher reads any event.
        try FileManager.default.createDirectory(atPath: folder.path + "/ward/CT-23", withIntermediateDirectories: true)
        folder.write([1], to: "ward/CT-23/early.nii")
        let seen = try events(watcher) { $0.contains(.file("ward/CT-23/early.nii")) }
        #expect(seen.contains(.file("ward/CT-23/early.nii")))
        folder.write([1], to: "ward/CT-23/late.nii")
        #expect(try events(watcher) { $0.contains(.file("ward/CT-23/late.nii")) }.contains(.file("ward/CT-23/late.nii")))
        #expect(watcher.watchedFolders == 3)
    }

    @Test func aFolderThatVanishedBeforeItsWatchIsSkipped() throws {
        let watcher = try InboxWatcher(root: folder.path + "/nope")
        #expect(try watcher.watchTree().isEmpty)
        #expect(watcher.watchedFolders == 0)
    }
}
