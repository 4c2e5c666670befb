import Catalog
import Foundation
import Logging
import NIfTI
import Preprocess
import Scheduling
import Training

/// The cache as the daemon sees it: `TensorCache`'s files, indexed in the catalog. A tensor that
/// is missing or fails its checksum is rebuilt from the archived original and indexed again.
struct ScanCache: Sendable {
    let catalog: Catalog
    let folder: String

    /// The scan's preprocessed tensor, rebuilt from the original when missing or damaged.
    /// - Parameter verify: hash the file against the catalog's checksum; false for a tensor checked
    ///   earlier in the same run and read again for a training batch (4 MB need not be hashed twice).
    func grid(scan: ScanRecord, parameters: PreprocessParameters, limits: ReadLimits, original: String,
              verify: Bool = true) throws -> VoxelGrid {
        let cache = TensorCache(folder: folder, parameters: parameters)
        if let entry = try catalog.cacheEntry(scanID: scan.id, key: parameters.key),
           let grid = try? cache.read(entry.path, checksum: verify ? entry.checksum : nil).get() {
            return grid
        }
        return try rebuild(scan: scan, cache: cache, limits: limits, original: original)
    }

    /// Rebuilds one tensor that the current preprocessing parameters lack (after they changed, or
    /// a write failed). False when there is nothing to rebuild.
    func rebuildOneMissing(parameters: PreprocessParameters, limits: ReadLimits, log: Logger) throws -> Bool {
        guard let (scan, original) = try catalog.scansMissingCache(key: parameters.key).first else { return false }
        do {
            _ = try rebuild(scan: scan, cache: TensorCache(folder: folder, parameters: parameters), limits: limits, original: original)
        } catch {
            log.error("cannot rebuild the cache tensor of \(scan.name) from \(original): \(error)")
            throw error
        }
        return true
    }

    /// Today's labelled validation scans, each read from the cache when a model is scored on it.
    func validationSet(_ config: DaemonConfig) throws -> [PreparedScan] {
        let parameters = config.training.preprocessing
        let limits = config.limits
        return try catalog.labelledScans(key: parameters.key).compactMap { scan, _ in
            guard let label = scan.label, ValidationSplit.isValidation(hash: scan.hash, fraction: config.training.validationFraction) else { return nil }
            let original = try catalog.archivedOriginal(scanID: scan.id) ?? ""
            return PreparedScan(scan: LabelledScan(path: scan.name, label: label, hash: scan.hash), isValidation: true) {
                try grid(scan: scan, parameters: parameters, limits: limits, original: original)
            }
        }
    }

    /// Preprocesses the archived original again and records the new tensor.
    private func rebuild(scan: ScanRecord, cache: TensorCache, limits: ReadLimits, original: String) throws -> VoxelGrid {
        let (grid, written) = cache.rebuild(hash: scan.hash, from: try NIfTIReader(limits: limits).read(path: original))
        let tensor = try written.get()
        try catalog.setCacheEntry(scanID: scan.id, key: cache.parameters.key, path: tensor.path, checksum: tensor.checksum, now: Daemon.now())
        return grid
    }
}
