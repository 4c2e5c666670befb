import AtomicFile
import ContentHash
import Foundation
import NIfTI
import Preprocess

/// A scan found in a labelled folder: `CT-0/` holds normal scans (label 0), `CT-23/` abnormal ones
/// (label 1), as the seed's MosMedData layout does.
public struct LabelledScan: Sendable, Equatable {
    public let path: String
    public let label: Int
    /// SHA-256 of the file: its identity and its side of the split.
    public let hash: String

    public init(path: String, label: Int, hash: String) { (self.path, self.label, self.hash) = (path, label, hash) }
}

/// A scan ready for training: where it belongs, and its preprocessed tensor — kept in memory, or
/// read again from the cache each time a batch needs it, so that a run over thousands of scans
/// holds a batch of tensors rather than all of them (4 MB each at 128×128×64).
public struct PreparedScan: Sendable {
    public let scan: LabelledScan
    public let isValidation: Bool
    private let source: Source

    private enum Source: Sendable {
        case memory([Float])
        case loader(@Sendable () throws -> VoxelGrid)
    }

    /// A scan whose tensor stays in memory.
    public init(scan: LabelledScan, grid: VoxelGrid, isValidation: Bool) {
        self.scan = scan
        source = .memory(ModelInput.values(grid))
        self.isValidation = isValidation
    }

    /// A scan whose tensor `load` reads each time it is used.
    public init(scan: LabelledScan, isValidation: Bool, load: @escaping @Sendable () throws -> VoxelGrid) {
        self.scan = scan
        source = .loader(load)
        self.isValidation = isValidation
    }

    /// Up to this many bytes of tensors a run keeps in memory; beyond it, cached tensors are read
    /// per batch (which costs about 12 ms per scan at 128×128×64: ~5 % of a bf16 step).
    public static let memoryBudget = 2 << 30

    /// Whether `count` tensors of this size fit in `budget` bytes.
    public static func fitInMemory(count: Int, parameters: PreprocessParameters, budget: Int = memoryBudget) -> Bool {
        count * parameters.width * parameters.height * parameters.depth * MemoryLayout<Float>.size <= budget
    }

    /// The tensor in the network's layout: [X][Y][Z] row-major, z fastest (see `ModelInput`).
    public func input() throws -> [Float] {
        switch source {
        case .memory(let values): values
        case .loader(let load): ModelInput.values(try load())
        }
    }
}

/// Why a data folder cannot be used.
public struct DataFolderError: Error, CustomStringConvertible {
    public let folder: String
    public let reason: String
    public var description: String { "\(folder): \(reason)" }
}

/// The two classes, as the network's label (0 or 1) and as people name them.
public enum ScanClass: Int, CaseIterable, Sendable, CustomStringConvertible {
    case normal = 0, abnormal = 1
    public var description: String { self == .normal ? "normal" : "abnormal" }
}

public enum LabelledScans {
    public static let labelFolders = [(name: "CT-0", label: ScanClass.normal.rawValue), (name: "CT-23", label: ScanClass.abnormal.rawValue)]

    /// Every `.nii`/`.nii.gz` under `folder/CT-0` and `folder/CT-23`, sorted by path, hashed.
    /// Duplicates (same content under two names) are kept once.
    public static func discover(in folder: String) throws -> [LabelledScan] {
        var found: [LabelledScan] = []
        var seen: Set<String> = []
        for (name, label) in labelFolders {
            let directory = folder + "/" + name
            guard let entries = try? FileManager.default.contentsOfDirectory(atPath: directory) else {
                throw DataFolderError(folder: folder, reason: "no \(name)/ folder (put normal scans in CT-0/ and abnormal ones in CT-23/)")
            }
            for entry in entries.sorted() where entry.hasSuffix(".nii") || entry.hasSuffix(".nii.gz") {
                let path = directory + "/" + entry
                let hash = try ContentHash.sha256(file: path)
                guard seen.insert(hash).inserted else { continue }
                found.append(LabelledScan(path: path, label: label, hash: hash))
            }
        }
        for (name, label) in labelFolders where !found.contains(where: { $0.label == label }) {
            throw DataFolderError(folder: folder, reason: "\(name)/ holds no .nii or .nii.gz scans: training needs both classes")
        }
        return found
    }

    /// Reads and preprocesses each scan, reusing `.npy` tensors in `cacheFolder` when given (keyed
    /// by content hash and preprocessing parameters, so a parameter change never reuses stale data).
    /// Tensors stay in memory while they fit `PreparedScan.memoryBudget`; beyond it, with a cache,
    /// they are read from it again whenever training needs them. Unreadable scans are skipped and
    /// returned with their reason.
    public static func prepare(_ scans: [LabelledScan], parameters: PreprocessParameters, validationFraction: Double,
                               cacheFolder: String?, reader: NIfTIReader = NIfTIReader(), memoryBudget: Int = PreparedScan.memoryBudget,
                               onEach: (Int) -> Void = { _ in }) -> (prepared: [PreparedScan], skipped: [(LabelledScan, String)]) {
        let cache = cacheFolder.map { TensorCache(folder: $0, parameters: parameters) }
        let inMemory = PreparedScan.fitInMemory(count: scans.count, parameters: parameters, budget: memoryBudget)
        var prepared: [PreparedScan] = []
        var skipped: [(LabelledScan, String)] = []
        for (index, scan) in scans.enumerated() {
            onEach(index)
            let cached = cache?.path(hash: scan.hash)
            var grid = cached.flatMap { try? cache!.read($0).get() }
            if grid == nil {
                do {
                    grid = try preprocessed(scan, cache: cache, parameters: parameters, reader: reader)
                } catch {
                    skipped.append((scan, error.description))
                    continue
                }
            }
            let isValidation = ValidationSplit.isValidation(hash: scan.hash, fraction: validationFraction)
            if !inMemory, let cache, let cached, FileManager.default.fileExists(atPath: cached) {
                prepared.append(PreparedScan(scan: scan, isValidation: isValidation) {
                    // If it went missing or bad since, the scan is preprocessed anew.
                    try (try? cache.read(cached).get()) ?? preprocessed(scan, cache: cache, parameters: parameters, reader: reader)
                })
            } else {
                prepared.append(PreparedScan(scan: scan, grid: grid!, isValidation: isValidation))
            }
        }
        return (prepared, skipped)
    }

    /// The scan read and preprocessed, its tensor written to the cache when there is one (a
    /// failed write only costs speed: `ctd train` reads the scan again next time).
    private static func preprocessed(_ scan: LabelledScan, cache: TensorCache?, parameters: PreprocessParameters,
                                     reader: NIfTIReader) throws(NIfTIError) -> VoxelGrid {
        let volume = try reader.read(path: scan.path)
        guard let cache else { return Preprocessor(parameters).run(volume) }
        return cache.rebuild(hash: scan.hash, from: volume).grid
    }
}
