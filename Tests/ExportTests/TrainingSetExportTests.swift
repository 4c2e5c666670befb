import Export
import Foundation
import Preprocess
import XCTest

final class TrainingSetExportTests: XCTestCase {
    let parameters = PreprocessParameters(width: 46, height: 47, depth: 48)
    var sample: Int { 46 * 47 * 48 }
    var folder = ""

    override func setUp() {
        folder = NSTemporaryDirectory() + "export-\(UUID().uuidString)"
    }

    override func tearDown() {
        try? FileManager.default.removeItem(atPath: folder)
    }

    func item(_ n: Int) -> ExportItem {
        ExportItem(hash: String(format: "%064x", n), label: n % 2, isValidation: n % 3 == 0, name: "scan\(n).nii.gz")
    }

    /// A tensor that says which scan it is: its first value is the scan's number.
    func tensor(_ item: ExportItem) -> [Float] {
        var values = [Float](repeating: 0.5, count: sample)
        values[0] = Float(Int(item.hash, radix: 16)!)
        values[sample - 1] = 0.25
        return values
    }

    func export(_ numbers: [Int], failing: Set<Int> = [], loaded: inout [Int]) throws -> ExportSummary {
        var calls: [Int] = []
        let summary = try TrainingSetExport.update(folder: folder, items: numbers.map(item), preprocessing: parameters, validationFraction: 0.3,
                                                   shardSize: 2, writer: "test", source: "unit test") { item in
            let n = Int(item.hash, radix: 16)!
            calls.append(n)
            if failing.contains(n) { throw ExportError(item.name, "unreadable") }
            return tensor(item)
        }
        loaded = calls
        return summary
    }

    func manifest() throws -> ExportManifest {
        try ExportManifest.decode([UInt8](FileManager.default.contents(atPath: folder + "/manifest.json")!), file: "manifest")
    }

    /// Every scan of the manifest is in its shard's row, and every shard matches its checksum.
    func assertConsistent(_ manifest: ExportManifest, file: StaticString = #filePath, line: UInt = #line) throws {
        var rowsByShard: [String: [[Float]]] = [:]
        for shard in manifest.shards {
            let bytes = [UInt8](FileManager.default.contents(atPath: folder + "/" + shard.file)!)
            XCTAssertEqual(bytes.count, shard.bytes, file: file, line: line)
            rowsByShard[shard.file] = try ShardFile.decodeRows(bytes, x: 46, y: 47, z: 48)
            XCTAssertEqual(rowsByShard[shard.file]!.count, shard.count, file: file, line: line)
        }
        for scan in manifest.scans {
            let row = try XCTUnwrap(rowsByShard[scan.shard]?[scan.row], file: file, line: line)
            XCTAssertEqual(row[0], Float(Int(scan.hash, radix: 16)!), "\(scan.name) is not in its row", file: file, line: line)
        }
        let files = try FileManager.default.contentsOfDirectory(atPath: folder).filter { $0.hasPrefix("shard-") }
        XCTAssertEqual(Set(files), Set(manifest.shards.map(\.file)), "no shard left that the manifest does not list", file: file, line: line)
    }

    func testFirstExportThenIncrementalOnesLoadOnlyNewScans() throws {
        var loaded: [Int] = []
        var summary = try export([1, 2, 3], loaded: &loaded)
        XCTAssertEqual(loaded, [1, 2, 3])
        XCTAssertEqual(summary.added, 3)
        XCTAssertEqual(summary.shards, 2)
        var current = try manifest()
        XCTAssertEqual(current.shards.map(\.count), [2, 1])
        XCTAssertEqual(current.scans.map(\.split), [.train, .train, .validation])
        XCTAssertEqual(current.preprocessing, parameters)
        try assertConsistent(current)
        let firstShard = current.shards[0]

        summary = try export([1, 2, 3, 4, 5, 6], loaded: &loaded)
        XCTAssertEqual(loaded, [4, 5, 6], "only the new scans are read")
        XCTAssertEqual(summary.added, 3)
        XCTAssertEqual(summary.kept, 3)
        current = try manifest()
        XCTAssertEqual(current.shards.map(\.count), [2, 2, 2], "the partial shard was refilled")
        XCTAssertEqual(current.shards[0], firstShard, "a full shard is never rewritten")
        XCTAssertEqual(current.scans.count, 6)
        try assertConsistent(current)

        summary = try export([1, 2, 3, 4, 5, 6], loaded: &loaded)
        XCTAssertEqual(loaded, [])
        XCTAssertEqual(summary.shardsWritten, 0)
        XCTAssertEqual(try manifest().shards, current.shards)
    }

    func testAScanThatCannotBeReadIsSkippedAndAddedNextTime() throws {
        var loaded: [Int] = []
        let summary = try export([1, 2, 3], failing: [2], loaded: &loaded)
        XCTAssertEqual(summary.skipped, [.init(name: "scan2.nii.gz", reason: "scan2.nii.gz: unreadable")])
        XCTAssertEqual(summary.added, 2)
        XCTAssertEqual(try manifest().scans.map(\.name), ["scan1.nii.gz", "scan3.nii.gz"])
        _ = try export([1, 2, 3], loaded: &loaded)
        XCTAssertEqual(loaded, [2])
        XCTAssertEqual(Set(try manifest().scans.map(\.name)), ["scan1.nii.gz", "scan2.nii.gz", "scan3.nii.gz"])
        try assertConsistent(try manifest())
    }

    func testAMissingShardIsWrittenAgainAndAnOrphanIsRemoved() throws {
        var loaded: [Int] = []
        _ = try export([1, 2, 3, 4], loaded: &loaded)
        let before = try manifest()
        try FileManager.default.removeItem(atPath: folder + "/" + before.shards[0].file)
        // What a crash between writing a shard and the manifest leaves.
        _ = FileManager.default.createFile(atPath: folder + "/shard-00099-deadbeef.npy", contents: Data([1, 2, 3]))
        _ = try export([1, 2, 3, 4], loaded: &loaded)
        XCTAssertEqual(loaded, [1, 2])
        try assertConsistent(try manifest())
        XCTAssertEqual(try manifest().scans.count, 4)
    }

    func testRefusesAnotherPreprocessingAForeignFolderAndANewerFormat() throws {
        var loaded: [Int] = []
        _ = try export([1, 2], loaded: &loaded)
        XCTAssertThrowsError(try TrainingSetExport.update(folder: folder, items: [item(1)], preprocessing: .seed, validationFraction: 0.3,
                                                          writer: "t", source: "t") { _ in [] }) { error in
            XCTAssertTrue("\(error)".contains("export to a new folder"), "\(error)")
        }
        let foreign = folder + "-foreign"
        defer { try? FileManager.default.removeItem(atPath: foreign) }
        try FileManager.default.createDirectory(atPath: foreign, withIntermediateDirectories: true)
        _ = FileManager.default.createFile(atPath: foreign + "/thesis.tex", contents: Data("x".utf8))
        XCTAssertThrowsError(try TrainingSetExport.update(folder: foreign, items: [item(1)], preprocessing: parameters, validationFraction: 0.3,
                                                          writer: "t", source: "t") { _ in [] }) { error in
            XCTAssertTrue("\(error)".contains("holds other files (thesis.tex)"), "\(error)")
        }
        var newer = try manifest()
        newer.formatVersion = 99
        try newer.encoded().withUnsafeBufferPointer { try Data(buffer: $0).write(to: URL(fileURLWithPath: folder + "/manifest.json")) }
        XCTAssertThrowsError(try manifest()) { error in XCTAssertTrue("\(error)".contains("newer ctd"), "\(error)") }
    }
}
