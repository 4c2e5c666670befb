import AtomicFile
import ContentHash
import Foundation
import Glibc
import Preprocess

/// What an export run did.
public struct ExportSummary: Codable, Sendable, Equatable {
    public var folder: String
    public var added = 0
    public var kept = 0
    public var removed = 0
    public var scans = 0
    public var train = 0
    public var validation = 0
    public var shards = 0
    public var shardsWritten = 0
    /// Scans whose tensor could not be read, with why; they are not in the manifest (a later export adds them).
    public var skipped: [Skipped] = []

    public struct Skipped: Codable, Sendable, Equatable {
        public var name: String
        public var reason: String

        public init(name: String, reason: String) { (self.name, self.reason) = (name, reason) }
    }

    public init(folder: String) { self.folder = folder }

    enum CodingKeys: String, CodingKey {
        case folder, added, kept, removed, scans, train, validation, shards, skipped
        case shardsWritten = "shards_written"
    }
}

/// Writes and updates an exported training set in a folder: `.npy` shards and `manifest.json`
/// (`ExportManifest`). Incremental and crash-safe: shards are new files under new names (a
/// rewritten shard too), the manifest is replaced atomically after them, and only then are shards
/// it no longer names deleted. A crash leaves the old manifest with all its shards, or the new one.
public enum TrainingSetExport {
    public static let defaultShardSize = 32

    /// Brings the export in `folder` up to date with `items`. `load` gives a scan's tensor in the
    /// network's layout (X·Y·Z values, z fastest); a scan it fails on is skipped with the reason.
    public static func update(folder: String, items: [ExportItem], preprocessing: PreprocessParameters, validationFraction: Double,
                              shardSize: Int = defaultShardSize, writer: String, source: String,
                              load: (ExportItem) throws -> [Float],
                              onEach: (_ done: Int, _ of: Int) -> Void = { _, _ in }) throws(ExportError) -> ExportSummary {
        guard (1...4096).contains(shardSize) else { throw ExportError(folder, "shard size must be between 1 and 4096 scans") }
        let lock = try prepareFolder(folder)
        defer { flock(lock, LOCK_UN); close(lock) }
        let manifestPath = folder + "/" + ExportManifest.fileName
        var existing: ExportManifest?
        if let data = FileManager.default.contents(atPath: manifestPath) {
            let manifest = try ExportManifest.decode([UInt8](data), file: manifestPath)
            guard manifest.preprocessing == preprocessing else {
                throw ExportError(folder, "holds an export preprocessed as \(manifest.preprocessing.key), not \(preprocessing.key): export to a new folder")
            }
            existing = manifest
        }
        let size = existing?.shardSize ?? shardSize
        let damaged = Set((existing?.shards ?? []).filter { !isIntact($0, in: folder) }.map(\.file))
        let plan = ExportPlan.make(existing: existing, items: items, damagedShards: damaged)

        var summary = ExportSummary(folder: folder)
        var shards = (existing?.shards ?? []).filter { shard in
            shard.file != plan.refill?.file && plan.kept.contains { $0.shard == shard.file }
        }
        var scans = plan.kept.filter { $0.shard != plan.refill?.file }
        var sequence = (existing?.shards ?? []).compactMap { sequenceNumber($0.file) }.max().map { $0 + 1 } ?? 0
        var pendingRows: [[Float]] = []
        var pendingScans: [ExportManifest.Scan] = []
        let (x, y, z) = (preprocessing.width, preprocessing.height, preprocessing.depth)

        func flush() throws(ExportError) {
            guard !pendingRows.isEmpty else { return }
            let bytes = ShardFile.encode(rows: pendingRows, x: x, y: y, z: z)
            let checksum = ContentHash.sha256(bytes)
            let name = String(format: "shard-%05d-", sequence) + checksum.prefix(8) + ".npy"
            do { try AtomicFile.write(bytes, to: folder + "/" + name) } catch { throw ExportError(folder + "/" + name, "cannot write: \(error.reason)") }
            shards.append(.init(file: name, count: pendingRows.count, bytes: bytes.count, sha256: checksum))
            for (row, var scan) in pendingScans.enumerated() {
                (scan.shard, scan.row) = (name, row)
                scans.append(scan)
            }
            sequence += 1
            summary.shardsWritten += 1
            pendingRows.removeAll(keepingCapacity: true)
            pendingScans.removeAll(keepingCapacity: true)
        }

        if let refill = plan.refill {
            let path = folder + "/" + refill.file
            let rows: [[Float]]
            do { rows = try ShardFile.decodeRows([UInt8](FileManager.default.contents(atPath: path) ?? Data()), x: x, y: y, z: z) } catch {
                throw ExportError(path, error.reason)
            }
            for scan in plan.kept where scan.shard == refill.file {
                guard scan.row < rows.count else { throw ExportError(path, "row \(scan.row) is past its \(rows.count) rows") }
                pendingRows.append(rows[scan.row])
                pendingScans.append(scan)
            }
        }
        for (index, item) in plan.added.enumerated() {
            onEach(index, plan.added.count)
            let values: [Float]
            do { values = try load(item) } catch {
                summary.skipped.append(.init(name: item.name, reason: "\(error)"))
                continue
            }
            guard values.count == x * y * z else {
                summary.skipped.append(.init(name: item.name, reason: "its tensor holds \(values.count) values, not \(x)×\(y)×\(z)"))
                continue
            }
            pendingRows.append(values)
            pendingScans.append(.init(hash: item.hash, label: item.label, split: item.isValidation ? .validation : .train, name: item.name, shard: "", row: 0))
            if pendingRows.count == size { try flush() }
        }
        try flush()
        onEach(plan.added.count, plan.added.count)

        let manifest = ExportManifest(writer: writer, source: source, updatedAt: ISO8601DateFormatter().string(from: Date()),
                                      preprocessing: preprocessing, validationFraction: validationFraction, shardSize: size,
                                      shards: shards, scans: scans)
        do { try AtomicFile.write(try manifest.encoded(), to: manifestPath) } catch let error as AtomicFile.WriteError {
            throw ExportError(manifestPath, "cannot write: \(error.reason)")
        } catch { throw ExportError(manifestPath, "cannot encode: \(error)") }
        removeUnlisted(in: folder, keeping: Set(shards.map(\.file)))

        summary.added = plan.added.count - summary.skipped.count
        summary.kept = plan.kept.count
        summary.removed = plan.removed.count
        summary.scans = scans.count
        summary.validation = scans.filter { $0.split == .validation }.count
        summary.train = scans.count - summary.validation
        summary.shards = shards.count
        return summary
    }

    /// Creates the folder, refuses one that holds anything but an export, and locks it against a
    /// second export at the same time. Returns the lock's descriptor.
    private static func prepareFolder(_ folder: String) throws(ExportError) -> Int32 {
        do { try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true) } catch {
            throw ExportError(folder, "cannot create the folder (\(error.localizedDescription))")
        }
        let entries = (try? FileManager.default.contentsOfDirectory(atPath: folder)) ?? []
        let foreign = entries.filter { $0 != ExportManifest.fileName && !isShardName($0) && !$0.hasPrefix(".") }
        if !entries.contains(ExportManifest.fileName), let first = foreign.first {
            throw ExportError(folder, "holds other files (\(first)): export into an empty folder or an earlier export")
        }
        let descriptor = open(folder, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard descriptor >= 0 else { throw ExportError(folder, "cannot open: \(String(cString: strerror(errno)))") }
        guard flock(descriptor, LOCK_EX | LOCK_NB) == 0 else {
            close(descriptor)
            throw ExportError(folder, "another export is writing here; wait for it to finish")
        }
        return descriptor
    }

    static func isShardName(_ name: String) -> Bool { name.hasPrefix("shard-") && (name.hasSuffix(".npy") || name.contains(".npy.")) }

    private static func sequenceNumber(_ file: String) -> Int? {
        let parts = file.split(separator: "-")
        return parts.count >= 2 ? Int(parts[1]) : nil
    }

    /// A shard the manifest lists is there with its recorded size (its checksum is the reader's to check).
    private static func isIntact(_ shard: ExportManifest.Shard, in folder: String) -> Bool {
        var info = stat()
        return stat(folder + "/" + shard.file, &info) == 0 && (info.st_mode & S_IFMT) == S_IFREG && Int(info.st_size) == shard.bytes
    }

    /// Shards no manifest names: a rewritten shard's old file, or one a crash left half-way.
    private static func removeUnlisted(in folder: String, keeping listed: Set<String>) {
        for entry in (try? FileManager.default.contentsOfDirectory(atPath: folder)) ?? [] where isShardName(entry) && !listed.contains(entry) {
            unlink(folder + "/" + entry)
        }
    }
}
