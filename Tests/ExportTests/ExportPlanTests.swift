import Export
import Preprocess
import XCTest

final class ExportPlanTests: XCTestCase {
    func item(_ n: Int, label: Int = 0, validation: Bool = false) -> ExportItem {
        ExportItem(hash: String(repeating: String(n), count: 64).prefix(64).description, label: label, isValidation: validation, name: "s\(n).nii.gz")
    }

    func manifest(rows: [(item: ExportItem, shard: String, row: Int)], shards: [(String, Int)], shardSize: Int = 2) -> ExportManifest {
        ExportManifest(writer: "test", source: "test", updatedAt: "", preprocessing: PreprocessParameters(width: 46, height: 46, depth: 46),
                       validationFraction: 0.3, shardSize: shardSize,
                       shards: shards.map { .init(file: $0.0, count: $0.1, bytes: 1, sha256: "") },
                       scans: rows.map { .init(hash: $0.item.hash, label: $0.item.label, split: .train, name: $0.item.name, shard: $0.shard, row: $0.row) })
    }

    func testAFirstExportAddsEverythingOnce() {
        let plan = ExportPlan.make(existing: nil, items: [item(1), item(2), item(1)])
        XCTAssertEqual(plan.added.map(\.hash), [item(1).hash, item(2).hash])
        XCTAssertTrue(plan.kept.isEmpty && plan.removed.isEmpty && plan.refill == nil)
    }

    func testAgainAddsOnlyNewScansAndRefillsThePartialLastShard() {
        let existing = manifest(rows: [(item(1), "shard-00000-a.npy", 0), (item(2), "shard-00000-a.npy", 1), (item(3), "shard-00001-b.npy", 0)],
                                shards: [("shard-00000-a.npy", 2), ("shard-00001-b.npy", 1)])
        let plan = ExportPlan.make(existing: existing, items: [item(1), item(2), item(3), item(4)])
        XCTAssertEqual(plan.added, [item(4)])
        XCTAssertEqual(plan.kept.map(\.hash), [item(1), item(2), item(3)].map(\.hash))
        XCTAssertEqual(plan.refill?.file, "shard-00001-b.npy")
        // Nothing new: nothing rewritten.
        XCTAssertNil(ExportPlan.make(existing: existing, items: [item(1), item(2), item(3)]).refill)
    }

    func testAFullLastShardIsNotRewritten() {
        let existing = manifest(rows: [(item(1), "shard-00000-a.npy", 0), (item(2), "shard-00000-a.npy", 1)], shards: [("shard-00000-a.npy", 2)])
        XCTAssertNil(ExportPlan.make(existing: existing, items: [item(1), item(2), item(3)]).refill)
    }

    func testScansThatLeftAreRemovedAndLabelsAndSplitsAreRefreshed() {
        let existing = manifest(rows: [(item(1), "shard-00000-a.npy", 0), (item(2), "shard-00000-a.npy", 1)], shards: [("shard-00000-a.npy", 2)])
        let plan = ExportPlan.make(existing: existing, items: [item(2, label: 1, validation: true)])
        XCTAssertEqual(plan.removed, [item(1).hash])
        XCTAssertEqual(plan.kept.count, 1)
        XCTAssertEqual(plan.kept[0].label, 1)
        XCTAssertEqual(plan.kept[0].split, .validation)
    }

    func testScansOfADamagedShardAreExportedAgain() {
        let existing = manifest(rows: [(item(1), "shard-00000-a.npy", 0), (item(2), "shard-00000-a.npy", 1), (item(3), "shard-00001-b.npy", 0)],
                                shards: [("shard-00000-a.npy", 2), ("shard-00001-b.npy", 1)])
        let plan = ExportPlan.make(existing: existing, items: [item(1), item(2), item(3)], damagedShards: ["shard-00000-a.npy"])
        XCTAssertEqual(plan.added.map(\.hash), [item(1).hash, item(2).hash])
        XCTAssertEqual(plan.kept.map(\.hash), [item(3).hash])
        XCTAssertEqual(plan.refill?.file, "shard-00001-b.npy")
    }
}
