import AtomicFile
import ContentHash
import Foundation

/// Preprocessed tensors on disk, one `.npy` per scan and preprocessing: `<folder>/<content
/// hash>-<parameters key>.npy`, so a change of parameters never reuses stale data. Written
/// atomically; read back only when the file is there, of the parameters' size, and (when a
/// checksum is known) the same bytes. The one cache of the daemon, `ctd train --cache` and
/// `ctctl export`.
public struct TensorCache: Sendable {
    public let folder: String
    public let parameters: PreprocessParameters

    public init(folder: String, parameters: PreprocessParameters) {
        (self.folder, self.parameters) = (folder, parameters)
    }

    public func path(hash: String) -> String { "\(folder)/\(hash)-\(parameters.key).npy" }

    /// Writes a scan's tensor; gives its path and the SHA-256 of its bytes.
    @discardableResult
    public func write(_ grid: VoxelGrid, hash: String) throws(AtomicFile.WriteError) -> (path: String, checksum: String) {
        let bytes = NumPyFile.encode(grid)
        let path = path(hash: hash)
        try AtomicFile.write(bytes, to: path)
        return (path, ContentHash.sha256(bytes))
    }

    /// The tensor at `path`, or why it cannot be used: missing, unreadable, another size, or (with
    /// `checksum`) other bytes than the ones recorded.
    public func read(_ path: String, checksum: String? = nil) -> Result<VoxelGrid, TensorCacheError> {
        guard let data = FileManager.default.contents(atPath: path) else {
            return .failure(.init(path: path, reason: access(path, F_OK) == 0 ? "permission denied" : "missing"))
        }
        let bytes = [UInt8](data)
        if let checksum, ContentHash.sha256(bytes) != checksum { return .failure(.init(path: path, reason: "not the tensor the catalog recorded (checksum differs)")) }
        let grid: VoxelGrid
        do { grid = try NumPyFile.decode(bytes).grid } catch { return .failure(.init(path: path, reason: error.description)) }
        guard grid.nx == parameters.width, grid.ny == parameters.height, grid.nz == parameters.depth else {
            return .failure(.init(path: path, reason: "\(grid.nx)×\(grid.ny)×\(grid.nz), not \(parameters.width)×\(parameters.height)×\(parameters.depth)"))
        }
        return .success(grid)
    }
}

/// A cache tensor that cannot be used; the caller rebuilds it or says why.
public struct TensorCacheError: Error, CustomStringConvertible, Equatable, Sendable {
    public let path: String
    public let reason: String
    public var description: String { "\(path): \(reason)" }
}
