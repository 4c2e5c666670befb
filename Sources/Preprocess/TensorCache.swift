import AtomicFile
import ContentHash
import Foundation
import NIfTI

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
            return .failure(access(path, F_OK) == 0 ? .init(path: path, kind: .unreadable, reason: "permission denied")
                                                    : .init(path: path, kind: .missing, reason: "missing"))
        }
        let bytes = [UInt8](data)
        if let checksum, ContentHash.sha256(bytes) != checksum {
            return .failure(.init(path: path, kind: .damaged, reason: "not the tensor the catalog recorded (checksum differs)"))
        }
        let grid: VoxelGrid
        do { grid = try NumPyFile.decode(bytes).grid } catch { return .failure(.init(path: path, kind: .damaged, reason: error.description)) }
        guard grid.nx == parameters.width, grid.ny == parameters.height, grid.nz == parameters.depth else {
            return .failure(.init(path: path, kind: .damaged,
                                  reason: "\(grid.nx)×\(grid.ny)×\(grid.nz), not \(parameters.width)×\(parameters.height)×\(parameters.depth)"))
        }
        return .success(grid)
    }

    /// Preprocesses a scan again and writes its tensor back: the grid, and where it went or why
    /// it could not be written (the grid is good either way).
    public func rebuild(hash: String, from original: Volume) -> (grid: VoxelGrid, written: Result<(path: String, checksum: String), AtomicFile.WriteError>) {
        let grid = Preprocessor(parameters).run(original)
        try? FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        do throws(AtomicFile.WriteError) {
            return (grid, .success(try write(grid, hash: hash)))
        } catch {
            return (grid, .failure(error))
        }
    }
}

/// A cache tensor that cannot be used; the caller rebuilds it or says why.
public struct TensorCacheError: Error, CustomStringConvertible, Equatable, Sendable {
    public enum Kind: Sendable, Equatable {
        case missing
        /// There, but this user may not read it.
        case unreadable
        /// Not the tensor wanted: other bytes, another size, or no .npy at all.
        case damaged
    }

    public let path: String
    public let kind: Kind
    public let reason: String
    public var description: String { "\(path): \(reason)" }
}
