import AtomicFile
import Catalog
import ContentHash
import Foundation
import Glibc
import NIfTI
import Preprocess
import Scheduling

/// Takes one settled file from the inbox to the cache: open it once (`InboxFile`), read, hash
/// and preprocess it from that descriptor (within the limits), write the cache tensor
/// (atomically), record it in the catalog, then move the original to archive/ — or, when it
/// cannot be read, to rejected/ with an `.error.txt`. The catalog row is written before the move
/// and taken back when the move does not happen, so a file is never lost nor counted twice.
public struct Ingestor: Sendable {
    public enum Outcome: Equatable, Sendable {
        case archived(fileID: Int64, destination: String, duplicate: Bool, request: Bool)
        case rejected(destination: String, reason: String)
        /// The file went away before it was read: nothing to do.
        case gone
        /// Not a scan name, or not a regular file (a symlink, FIFO, folder): left alone.
        case ignored
        /// It changed while it was read, or another file took its name before the move: nothing
        /// was recorded, and whatever is in the inbox now is looked at again as a new arrival.
        case changed
        /// Its data ends early but it changed within `incompleteGrace`: a copy still in progress.
        /// Nothing was recorded; look again when it changes or at `until`.
        case incomplete(until: Double)
        /// Labelled the other way than an earlier copy of the same content (CT-0 and CT-23 both).
        case conflicting(fileID: Int64, destination: String, earlierLabel: Int)
    }

    public let folders: StateFolders
    public let catalog: Catalog
    public let parameters: PreprocessParameters
    public let reader: NIfTIReader
    /// How long after its last change a file whose data ends early is taken for a copy in progress.
    public var incompleteGrace: Double

    public init(folders: StateFolders, catalog: Catalog, parameters: PreprocessParameters, reader: NIfTIReader,
                incompleteGrace: Double = 600) {
        (self.folders, self.catalog, self.parameters, self.reader) = (folders, catalog, parameters, reader)
        self.incompleteGrace = incompleteGrace
    }

    /// - Throws: only for problems of the machine (disk full, permissions), worth a retry; a bad
    ///   file is an outcome (`.rejected`), not an error. Nothing stays recorded when it throws.
    /// - Parameters:
    ///   - arrived: when the file was found settled in the inbox (the report's arrival time).
    ///   - now: the clock, to tell a copy in progress from a truncated file.
    public func ingest(_ relative: String, arrived: Double, now: Double = Date().timeIntervalSince1970) throws -> Outcome {
        let label: Int?
        switch InboxPath.meaning(of: relative) {
        case .ignored: return .ignored
        case .labelled(let value): label = value
        case .predictionRequest: label = nil
        }
        let input: InboxFile
        switch try open(relative) {
        case .success(let file): input = file
        case .failure(let skipped): return skipped == .gone ? .gone : .ignored
        }
        let name = (relative as NSString).lastPathComponent
        let read = Result { () throws(NIfTIError) in try reader.read(from: input, name: name) }
        guard let (hash, size) = try input.finish() else { return .changed }
        let volume: Volume
        switch read {
        case .success(let value): volume = value
        case .failure(let error):
            if error.reason.endsEarly, now - input.modified < incompleteGrace { return .incomplete(until: input.modified + incompleteGrace) }
            let file = try catalog.recordRejection(inboxPath: relative, name: name, hash: hash, size: Int64(size), label: label,
                                                   error: "\(error.reason)",
                                                   destination: try uniqueDestination(under: folders.rejected, relative: relative, hash: hash),
                                                   now: arrived)
            return try place(input, file) { .rejected(destination: file.destination, reason: "\(error.reason)") }
        }
        let tensor = try TensorCache(folder: folders.cache, parameters: parameters).write(Preprocessor(parameters).run(volume), hash: hash)
        let facts = HeaderFacts(file: name, header: volume.header, compressed: input.head == [0x1f, 0x8b], problems: volume.warnings)
        let destination = try uniqueDestination(under: folders.archive, relative: relative, hash: hash)
        let item = Catalog.Ingested(inboxPath: relative, name: name, hash: hash, size: Int64(size), label: label,
                                    facts: facts.json(), orientation: facts.orientation,
                                    cache: (parameters.key, tensor.path, tensor.checksum), destination: destination)
        let recorded = try catalog.recordIngest(item, now: arrived)
        return try place(input, recorded.file) {
            if let earlier = recorded.labelConflict {
                return .conflicting(fileID: recorded.file.id, destination: destination, earlierLabel: earlier)
            }
            return .archived(fileID: recorded.file.id, destination: destination, duplicate: recorded.duplicate, request: label == nil)
        }
    }

    /// Sends a file whose ingest failed too often to rejected/ with `reason`.
    public func park(_ relative: String, reason: String, now: Double) throws -> Outcome {
        let input: InboxFile
        switch try open(relative) {
        case .success(let file): input = file
        case .failure(let skipped): return skipped == .gone ? .gone : .ignored
        }
        guard let (hash, size) = try input.finish() else { return .changed }
        let label: Int? = if case .labelled(let value) = InboxPath.meaning(of: relative) { value } else { nil }
        let file = try catalog.recordRejection(inboxPath: relative, name: (relative as NSString).lastPathComponent, hash: hash,
                                               size: Int64(size), label: label, error: reason,
                                               destination: try uniqueDestination(under: folders.rejected, relative: relative, hash: hash),
                                               now: now)
        return try place(input, file) { .rejected(destination: file.destination, reason: reason) }
    }

    /// Opens an inbox file, or says why there is nothing there to ingest (gone, a symlink, a FIFO…).
    private func open(_ relative: String) throws -> Result<InboxFile, InboxFile.Skipped> {
        do { return .success(try InboxFile(root: folders.inbox, relative: relative)) } catch let skipped as InboxFile.Skipped {
            return .failure(skipped)
        }
    }

    /// Moves a recorded file to its destination (writing the rejection note first) and marks it
    /// moved; when the move does not happen, takes the record back. `outcome` is the result
    /// when it moved.
    private func place(_ input: InboxFile, _ file: FileRecord, outcome: () -> Outcome) throws -> Outcome {
        let note = file.destination + FileNaming.noteSuffix
        do {
            try FileManager.default.createDirectory(atPath: (file.destination as NSString).deletingLastPathComponent,
                                                    withIntermediateDirectories: true)
            if file.outcome == .rejected {
                let text = "\(FileNaming.printable(file.inboxPath)): \(FileNaming.printable(file.error ?? "unreadable"))\n"
                try AtomicFile.write(Array(text.utf8), to: note)
            }
            switch try input.move(to: file.destination) {
            case .moved:
                AtomicFile.syncDirectory(of: file.destination)
                try catalog.markMoved(fileID: file.id)
                return outcome()
            case .gone:
                try withdraw(file, note: note)
                return .gone
            case .replaced:
                try withdraw(file, note: note)
                return .changed
            }
        } catch {
            try? withdraw(file, note: note)
            throw error
        }
    }

    private func withdraw(_ file: FileRecord, note: String) throws {
        if file.outcome == .rejected { unlink(note) }
        for tensor in try catalog.withdraw(fileID: file.id) { unlink(tensor) }
    }

    /// At start, for a file recorded but not marked moved (the process died in between): moved
    /// if its destination exists, else the record is taken back and the file, still in the
    /// inbox, is ingested again. Never trusts a row whose file is not where it says.
    /// Returns whether it had been moved.
    public func settleUnmoved(_ file: FileRecord) throws -> Bool {
        var info = stat()
        if lstat(file.destination, &info) == 0 {
            try catalog.markMoved(fileID: file.id)
            return true
        }
        try withdraw(file, note: file.destination + FileNaming.noteSuffix)
        return false
    }

    /// archive/CT-0/a.nii.gz, or archive/CT-0/a-1f3e5a7c.nii.gz when that name is taken; shortened
    /// to fit the file system's limits with room for `.error.txt` (see `FileNaming`).
    private func uniqueDestination(under folder: String, relative: String, hash: String) throws -> String {
        for attempt in 0..<1000 {
            let candidate = FileNaming.destination(under: folder, relative: relative, tag: FileNaming.tag(attempt: attempt, hash: hash))
            var info = stat()
            if try !catalog.isDestinationTaken(candidate), lstat(candidate, &info) != 0 { return candidate }
        }
        throw DaemonError(reason: "\(folder)/\(FileNaming.printable(relative)): no free name for another copy")
    }
}
