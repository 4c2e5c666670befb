import Foundation
import Preprocess

/// `manifest.json` of an exported training set: what PyTorch (or anything with NumPy) needs to
/// train on ctd's data without ctd. The tensors are in `.npy` shards of `shardSize` scans each,
/// shape [n, 1, X, Y, Z], little-endian float32, C order (z fastest): the network's input layout.
/// Each scan says which shard and row hold it, its label, and its side of ctd's split.
public struct ExportManifest: Codable, Sendable, Equatable {
    public static let format = "ctd-export"
    public static let formatVersion = 1
    public static let fileName = "manifest.json"

    public var format = ExportManifest.format
    public var formatVersion = ExportManifest.formatVersion
    /// "ctd 0.2.0": the program that last wrote it.
    public var writer: String
    /// Where the scans came from: the daemon's state folder or a CT-0/CT-23 folder.
    public var source: String
    public var updatedAt: String
    /// The preprocessing every tensor went through (as in a checkpoint's `preprocessing`).
    public var preprocessing: PreprocessParameters
    /// The share of each class `ValidationSplit` holds out, by content hash.
    public var validationFraction: Double
    public var shardSize: Int
    public var tensorLayout = "each shard: .npy float32 [n, 1, X, Y, Z], C order (z fastest), values in [0, 1]; X, Y, Z = preprocessing width, height, depth"
    public var labels = ["0": "normal (CT-0)", "1": "abnormal (CT-23)"]
    public var shards: [Shard]
    public var scans: [Scan]

    public struct Shard: Codable, Sendable, Equatable {
        public var file: String
        public var count: Int
        public var bytes: Int
        public var sha256: String

        public init(file: String, count: Int, bytes: Int, sha256: String) {
            (self.file, self.count, self.bytes, self.sha256) = (file, count, bytes, sha256)
        }
    }

    public struct Scan: Codable, Sendable, Equatable {
        /// SHA-256 of the original scan file: its identity, and what decides its split.
        public var hash: String
        public var label: Int
        public var split: Split
        public var name: String
        public var shard: String
        public var row: Int

        public init(hash: String, label: Int, split: Split, name: String, shard: String, row: Int) {
            (self.hash, self.label, self.split, self.name, self.shard, self.row) = (hash, label, split, name, shard, row)
        }
    }

    public enum Split: String, Codable, Sendable { case train, validation }

    public init(writer: String, source: String, updatedAt: String, preprocessing: PreprocessParameters, validationFraction: Double,
                shardSize: Int, shards: [Shard] = [], scans: [Scan] = []) {
        (self.writer, self.source, self.updatedAt, self.preprocessing) = (writer, source, updatedAt, preprocessing)
        (self.validationFraction, self.shardSize, self.shards, self.scans) = (validationFraction, shardSize, shards, scans)
    }

    /// Values per scan (1 · X · Y · Z).
    public var sampleSize: Int { preprocessing.width * preprocessing.height * preprocessing.depth }

    enum CodingKeys: String, CodingKey {
        case format, writer, source, preprocessing, labels, shards, scans
        case formatVersion = "format_version", updatedAt = "updated_at", validationFraction = "validation_fraction"
        case shardSize = "shard_size", tensorLayout = "tensor_layout"
    }

    public func encoded() throws -> [UInt8] {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        return Array(try encoder.encode(self)) + [0x0a]
    }

    /// Decodes and checks a manifest; `file` names it in errors.
    public static func decode(_ bytes: [UInt8], file: String) throws(ExportError) -> ExportManifest {
        let manifest: ExportManifest
        do { manifest = try JSONDecoder().decode(ExportManifest.self, from: Data(bytes)) } catch {
            throw ExportError(file, "not a ctd export manifest (\(error))")
        }
        guard manifest.format == format else { throw ExportError(file, "format is \"\(manifest.format)\", not \"\(format)\"") }
        guard manifest.formatVersion <= formatVersion else {
            throw ExportError(file, "written by a newer ctd (export format \(manifest.formatVersion)); upgrade ctd or export to a new folder")
        }
        let shardNames = Set(manifest.shards.map(\.file))
        for scan in manifest.scans where !shardNames.contains(scan.shard) || scan.row < 0 {
            throw ExportError(file, "scan \(scan.hash.prefix(12)) points at a shard the manifest does not list")
        }
        return manifest
    }
}

/// Why an export could not be written or read: "<file>: <reason>".
public struct ExportError: Error, CustomStringConvertible, Equatable, Sendable {
    public let file: String
    public let reason: String
    public init(_ file: String, _ reason: String) { (self.file, self.reason) = (file, reason) }
    public var description: String { "\(file): \(reason)" }
}
