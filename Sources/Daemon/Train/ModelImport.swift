import AtomicFile
import Catalog
import ContentHash
import ControlProtocol
import Foundation
import Glibc
import Logging
import Model
import Training

/// `ctctl import`: a checkpoint trained elsewhere (trainer/'s PyTorch twin, another daemon)
/// becomes a run of this  It is checked as `Checkpoint.read` checks ctd's own, must fit
/// this daemon's input size and preprocessing, is evaluated on the daemon's own validation set,
/// recorded with origin "imported", and promoted only by the rule ctd's own runs follow, unless
/// forced (which is logged with the user).
struct ModelImport {
    let config: DaemonConfig
    let folders: StateFolders
    let catalog: Catalog
    let cache: ScanCache
    let gate: ComputeGate
    let model: ActiveModel
    let log: Logger
    static let maxBytes = 1 << 30

    func run(descriptor: Int32, name: String, promotion: Request.Promotion?, peer: Peer) throws -> ImportResult {
        let bytes = try Self.readAll(descriptor, name: name)
        let checkpoint: Checkpoint
        do { checkpoint = try Checkpoint.decode(bytes) } catch { throw ControlError(.badRequest, "\(name): \(error.reason)") }
        let size = (checkpoint.architecture.width, checkpoint.architecture.height, checkpoint.architecture.depth)
        let wanted = config.training.preprocessing
        guard size == (wanted.width, wanted.height, wanted.depth) else {
            throw ControlError(.badRequest, "\(name): trained at \(size.0)×\(size.1)×\(size.2), but this daemon's model is \(wanted.width)×\(wanted.height)×\(wanted.depth) (model.width/height/depth): train at that size, from an export of this daemon")
        }
        let checksum = ContentHash.sha256(bytes)
        let runID = try chooseRunID(checkpoint.metadata["run_id"], checksum: checksum)
        let folder = folders.models + "/" + runID
        do {
            try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
            try AtomicFile.write(bytes, to: folder + "/best.safetensors")
        } catch {
            try? FileManager.default.removeItem(atPath: folder)
            throw ControlError(.failed, "cannot store the model in \(folder): \(error)")
        }
        let predictor: Predictor
        do {
            predictor = try Predictor(model: folder)
            guard predictor.preprocessing == wanted else {
                throw DaemonError(reason: "its preprocessing (\(predictor.preprocessing.key)) is not this daemon's (\(wanted.key)): export again and retrain")
            }
        } catch {
            try? FileManager.default.removeItem(atPath: folder)
            throw ControlError(.badRequest, "\(name): \(error)")
        }

        let validation = try cache.validationSet(config)
        let evaluation = try ModelScoring.evaluate(predictor, on: validation, gate: gate)
        let user = peer.userName
        try writeRecord(folder: folder, name: name, user: user, checksum: checksum, metadata: checkpoint.metadata, evaluation: evaluation)
        try catalog.recordImportedRun(id: runID, folder: folder, reason: "imported by \(user) from \(name)", source: name,
                                             validationCount: validation.count, bestEpoch: checkpoint.metadata["epoch"].flatMap(Int.init),
                                             valLoss: evaluation?.loss, valAcc: evaluation?.accuracy, valAUC: evaluation?.auc, now: Daemon.now())
        let figures = evaluation.map { ": val_acc \(String(format: "%.3f", $0.calibratedAccuracy)) calibrated on \($0.scans) validation scans" } ?? ""
        log.notice("control: imported \(name) as \(runID) for \(peer)\(figures)")

        let decision: (promote: Bool, note: String)
        switch promotion {
        case nil:
            decision = (false, "not promoted: imported only (ctctl promote \(runID) makes it active)")
        case .forced:
            decision = (true, "promoted by force by \(user)" + (evaluation.map { ", val_acc \(String(format: "%.4f", $0.calibratedAccuracy)) on the current validation set" } ?? ""))
            log.warning("control: \(runID) promoted by force by \(peer), without comparing it with the active model")
        case .guarded:
            decision = ModelScoring.decide(candidate: evaluation, active: try catalog.activeRun(), on: validation, preprocessing: wanted, gate: gate)
        }
        try catalog.decidePromotion(runID: runID, promote: decision.promote, note: decision.note)
        let run = try catalog.run(id: runID)!
        if decision.promote { model.load(run) }
        log.notice("run \(runID) \(decision.note)")
        return ImportResult(run: RunSummary(run, activeID: try catalog.activeRun()?.id), evaluation: evaluation,
                            promoted: decision.promote, note: promotion == nil ? nil : decision.note)
    }

    /// The checkpoint's own run id when it is a usable folder name that is free, else a new one.
    /// The same file imported twice is refused, naming the run it became.
    private func chooseRunID(_ proposed: String?, checksum: String) throws -> String {
        for run in try catalog.runs() where run.origin == .imported {
            if let data = FileManager.default.contents(atPath: run.folder + "/best.safetensors"), ContentHash.sha256([UInt8](data)) == checksum {
                throw ControlError(.badRequest, "this model was already imported as \(run.id)")
            }
        }
        let allowed = Set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-")
        if let proposed, (1...64).contains(proposed.count), proposed.allSatisfy(allowed.contains), !proposed.hasPrefix("."),
           try catalog.run(id: proposed) == nil, !FileManager.default.fileExists(atPath: folders.models + "/" + proposed) {
            return proposed
        }
        return "import-" + Trainer.newRunID().dropFirst("run-".count)
    }

    /// import.json beside the model: where it came from, who brought it, how it did here.
    private func writeRecord(folder: String, name: String, user: String, checksum: String, metadata: [String: String],
                             evaluation: ImportResult.Evaluation?) throws {
        struct Record: Encodable {
            let origin = RunRecord.Origin.imported, source: String, importedBy: String, importedAt: String, sha256: String
            let metadata: [String: String], evaluation: ImportResult.Evaluation?
            enum CodingKeys: String, CodingKey {
                case origin, source, sha256, metadata, evaluation
                case importedBy = "imported_by", importedAt = "imported_at"
            }
        }
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        let record = Record(source: name, importedBy: user, importedAt: PredictionReport.timestamp(Daemon.now()), sha256: checksum,
                            metadata: metadata, evaluation: evaluation)
        try AtomicFile.write(Array(try encoder.encode(record)) + [0x0a], to: folder + "/import.json")
    }

    /// The whole file behind a descriptor the caller passed, refusing one over `maxBytes` or not a regular file.
    static func readAll(_ descriptor: Int32, name: String) throws -> [UInt8] {
        var info = stat()
        guard fstat(descriptor, &info) == 0, (info.st_mode & S_IFMT) == S_IFREG else { throw ControlError(.badRequest, "\(name): not a regular file") }
        guard Int(info.st_size) <= maxBytes else {
            throw ControlError(.badRequest, "\(name): \(info.st_size) bytes exceed the checkpoint limit of \(maxBytes)")
        }
        var bytes = [UInt8](repeating: 0, count: Int(info.st_size))
        var offset = 0
        while offset < bytes.count {
            let count = bytes.withUnsafeMutableBytes { pread(descriptor, $0.baseAddress! + offset, $0.count - offset, off_t(offset)) }
            if count < 0, errno == EINTR { continue }
            guard count > 0 else { throw ControlError(.badRequest, "\(name): cannot read (\(count < 0 ? String(cString: strerror(errno)) : "it shrank while being read"))") }
            offset += count
        }
        return bytes
    }
}
