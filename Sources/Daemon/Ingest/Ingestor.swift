import AtomicFile
import Catalog
import ContentHash
import Foundation
import Glibc
import NIfTI
import Preprocess
import Scheduling

/// Takes one settled file from the inbox to the cache: hash it, read it (within the limits),
/// preprocess it into a cache tensor (written atomically), record it in the catalog, then move
/// the original to archive/ — or, when it cannot be read, to rejected/ with an `.error.txt`.
/// The catalog row is written before the move and the move is finished on start if the process
/// died in between, so a file is never lost nor counted twice.
public struct Ingestor: Sendable {
    public enum Outcome: Equatable, Sendable {
        case archived(fileID: Int64, destination: String, duplicate: Bool, request: Bool)
        case rejected(destination: String, reason: String)
        /// The file went away before it was read: nothing to do.
        case gone
        /// Not a scan name (hidden, temporary or another kind of file): left alone.
        case ignored
    }

    public let folders: StateFolders
    public let catalog: Catalog
    public let parameters: PreprocessParameters
    public let reader: NIfTIReader

    public init(folders: StateFolders, catalog: Catalog, parameters: PreprocessParameters, reader: NIfTIReader) {
        (self.folders, self.catalog, self.parameters, self.reader) = (folders, catalog, parameters, reader)
    }

    /// - Throws: only for problems of the machine (disk full, permissions), worth a retry; a bad
    ///   file is an outcome (`.rejected`), not an error.
    /// - Parameter arrived: when the file was found settled in the inbox (the report's arrival time).
    public func ingest(_ relative: String, arrived now: Double) throws -> Outcome {
        let meaning = InboxPath.meaning(of: relative)
        let label: Int?
        switch meaning {
        case .ignored: return .ignored
        case .labelled(let value): label = value
        case .predictionRequest: label = nil
        }
        let source = folders.inbox + "/" + relative
        var info = stat()
        guard lstat(source, &info) == 0, (info.st_mode & S_IFMT) == S_IFREG else { return .gone }
        let hash: String
        do {
            hash = try ContentHash.sha256(file: source)
        } catch {
            if access(source, F_OK) != 0 { return .gone }
            throw error
        }
        let name = (relative as NSString).lastPathComponent
        let volume: Volume
        do {
            volume = try reader.read(path: source)
        } catch {
            if access(source, F_OK) != 0 { return .gone }
            return try reject(relative, name: name, hash: hash, size: Int64(info.st_size), label: label, reason: "\(error.reason)", now: now)
        }
        let tensor = try Self.writeCacheTensor(Preprocessor(parameters).run(volume), hash: hash, parameters: parameters, folders: folders)
        let facts = HeaderFacts(file: name, header: volume.header, compressed: Self.isGzip(source), problems: volume.warnings)
        let destination = try uniqueDestination(under: folders.archive, relative: relative, hash: hash)
        let item = Catalog.Ingested(inboxPath: relative, name: name, hash: hash, size: Int64(info.st_size), label: label,
                                    facts: facts.json(), orientation: facts.orientation,
                                    cache: (parameters.key, tensor.path, tensor.checksum), destination: destination)
        let recorded = try catalog.recordIngest(item, now: now)
        try Self.move(recorded.file, folders: folders, catalog: catalog)
        return .archived(fileID: recorded.file.id, destination: destination, duplicate: recorded.duplicate, request: label == nil)
    }

    private func reject(_ relative: String, name: String, hash: String, size: Int64, label: Int?, reason: String, now: Double) throws -> Outcome {
        let destination = try uniqueDestination(under: folders.rejected, relative: relative, hash: hash)
        let file = try catalog.recordRejection(inboxPath: relative, name: name, hash: hash, size: size, label: label, error: reason,
                                               destination: destination, now: now)
        try Self.move(file, folders: folders, catalog: catalog)
        return .rejected(destination: destination, reason: reason)
    }

    /// Moves a recorded file from the inbox to its destination (writing the rejection note
    /// first) and marks it moved. Safe to repeat: used again on start for moves a crash cut short.
    public static func move(_ file: FileRecord, folders: StateFolders, catalog: Catalog) throws {
        let source = folders.inbox + "/" + file.inboxPath
        try FileManager.default.createDirectory(atPath: (file.destination as NSString).deletingLastPathComponent,
                                                withIntermediateDirectories: true)
        if file.outcome == .rejected {
            let note = "\(file.inboxPath): \(file.error ?? "unreadable")\n"
            try AtomicFile.write(Array(note.utf8), to: file.destination + ".error.txt")
        }
        if access(file.destination, F_OK) != 0 {
            guard rename(source, file.destination) == 0 else {
                let code = errno
                // Gone from the inbox and not at the destination: someone took it away meanwhile.
                if code == ENOENT { try catalog.markMoved(fileID: file.id); return }
                throw DaemonError(reason: "\(file.destination): cannot move \(source) here: \(String(cString: strerror(code)))")
            }
            AtomicFile.syncDirectory(of: file.destination)
        }
        try catalog.markMoved(fileID: file.id)
    }

    /// Writes a scan's preprocessed tensor into the cache (atomically), named by content hash and
    /// preprocessing parameters; returns where, and the checksum the catalog keeps.
    public static func writeCacheTensor(_ grid: VoxelGrid, hash: String, parameters: PreprocessParameters,
                                        folders: StateFolders) throws -> (path: String, checksum: String) {
        let bytes = NumPyFile.encode(grid)
        let path = "\(folders.cache)/\(hash)-\(parameters.key).npy"
        try AtomicFile.write(bytes, to: path)
        return (path, ContentHash.sha256(bytes))
    }

    /// archive/CT-0/a.nii.gz, or archive/CT-0/a-1f3e5a7c.nii.gz when that name is taken.
    private func uniqueDestination(under folder: String, relative: String, hash: String) throws -> String {
        let plain = folder + "/" + relative
        if try !catalog.isDestinationTaken(plain), access(plain, F_OK) != 0 { return plain }
        let suffix = relative.hasSuffix(".nii.gz") ? ".nii.gz" : ".nii"
        let stem = String(relative.dropLast(suffix.count))
        for attempt in 0..<1000 {
            let tag = attempt == 0 ? String(hash.prefix(8)) : "\(hash.prefix(8))-\(attempt)"
            let candidate = "\(folder)/\(stem)-\(tag)\(suffix)"
            if try !catalog.isDestinationTaken(candidate), access(candidate, F_OK) != 0 { return candidate }
        }
        throw DaemonError(reason: "\(plain): no free name for another copy")
    }

    static func isGzip(_ path: String) -> Bool {
        guard let handle = FileHandle(forReadingAtPath: path) else { return false }
        defer { try? handle.close() }
        return (try? handle.read(upToCount: 2)) == Data([0x1f, 0x8b])
    }
}
