import Catalog
import Engine
import Foundation
import Logging
import Model
import Preprocess
import Scheduling
import Training

/// One training run inside the daemon: the labelled scans from the cache, the `Trainer` in
/// models/<run>/, every epoch in the catalog, then the promotion decision. A run suspended by a
/// shutdown resumes on the next start with the scans it started with.
struct TrainingJob {
    enum Outcome {
        case ended(RunRecord)
        case suspended
        /// `recurs`: the same run would fail the same way again (see `willRecur`), so it is not retried.
        case failed(String, recurs: Bool)
        /// The disk filled up: the run stays "running" and continues from its last completed
        /// epoch once there is room again.
        case outOfSpace(any Error)
    }

    let job: JobRecord
    let config: DaemonConfig
    let cancellation: CancellationFlag
    /// Why the run started, for the catalog ("resumed after a restart" for an interrupted one).
    let reason: String
    let folders: StateFolders
    let catalog: Catalog
    let cache: ScanCache
    let gate: ComputeGate
    let tracker: TrainingTracker
    let log: Logger
    /// Called at every step: the worker's heartbeat.
    let heartbeat: @Sendable () -> Void

    var runID: String { job.subject }

    func run() throws -> Outcome {
        let folder = RunFolder(path: folders.models + "/" + runID)
        let parameters = config.training.preprocessing
        var labelled = try catalog.labelledScans(key: parameters.key)
        let folderState = folder.state
        // A resumed run (or one that ended just before a crash) keeps the scans it started with.
        if folderState != .empty, let earlier = folder.savedReport {
            let hashes = Set(earlier.split.map(\.hash))
            labelled = labelled.filter { hashes.contains($0.scan.hash) }
        }
        var prepared: [PreparedScan] = []
        let inMemory = PreparedScan.fitInMemory(count: labelled.count, parameters: parameters, budget: config.trainingMemoryBytes)
        for (scan, _) in labelled {
            guard let label = scan.label else { continue }
            let original = try catalog.archivedOriginal(scanID: scan.id) ?? ""
            // Checked (or rebuilt) now, so a bad tensor surfaces before the run; kept, or read again per batch.
            let grid = try cache.grid(scan: scan, parameters: parameters, limits: config.limits, original: original)
            let identity = LabelledScan(path: scan.name, label: label, hash: scan.hash)
            let isValidation = ValidationSplit.isValidation(hash: scan.hash, fraction: config.training.validationFraction)
            if inMemory {
                prepared.append(PreparedScan(scan: identity, grid: grid, isValidation: isValidation))
            } else {
                let limits = config.limits
                prepared.append(PreparedScan(scan: identity, isValidation: isValidation) {
                    [cache] in try cache.grid(scan: scan, parameters: parameters, limits: limits, original: original, verify: false)
                })
            }
        }
        let validation = prepared.filter(\.isValidation).count
        try catalog.startRun(id: runID, folder: folder.path, reason: reason, trainCount: prepared.count - validation,
                             validationCount: validation, now: Daemon.now())
        let progress = CatalogProgress(catalog: catalog, runID: runID, log: log, tracker: tracker, heartbeat: heartbeat)
        tracker.started(runID: runID, epochs: config.training.epochs)
        defer { tracker.ended() }
        let report: RunReport
        do {
            if case .ended(let status) = folderState, let ended = folder.savedReport {
                // Killed after run.json said the run ended but before the catalog heard of it.
                log.notice("run \(runID) had ended (\(status)) before the last stop: recording its end")
                report = ended
            } else {
                report = try Trainer(config: config.training, folder: folder, scans: prepared, progress: progress,
                                     cancellation: cancellation, gate: gate, runID: runID).run(resume: folderState == .interrupted)
            }
        } catch {
            let kind = JobRunner.failureKind(error)
            if kind == .outOfSpace { return .outOfSpace(error) }
            try catalog.endRun(id: runID, state: .failed, bestEpoch: nil, valLoss: nil, valAcc: nil, valAUC: nil,
                               error: "\(error)", now: Daemon.now())
            return .failed("\(error)", recurs: kind == .recurring)
        }
        if report.status == .running { return .suspended }
        try catalog.endRun(id: runID, state: RunRecord.State(report.status), bestEpoch: report.bestEpoch, valLoss: report.best?.validationLoss,
                           valAcc: report.best?.validationAccuracy, valAUC: report.best?.validationAUC, error: nil, now: Daemon.now())
        if report.status == .cancelled || report.bestEpoch == nil {
            try catalog.decidePromotion(runID: runID, promote: false, note: "not promoted: the run was cancelled")
        } else {
            let (promote, note) = try decidePromotion(candidate: folder.best, validation: prepared.filter(\.isValidation))
            try catalog.decidePromotion(runID: runID, promote: promote, note: note)
            log.notice("run \(runID) \(note)")
        }
        return .ended(try catalog.run(id: runID)!)
    }

    /// Attempts at a run before it is parked: a run is long, so a failure that may pass (out of
    /// memory, I/O) gets one retry; one that would recur (`JobRunner.failureKind`) none.
    static let maxAttempts = 2

    /// Scores the new model and the active one on today's validation set (which may have grown
    /// since the active model was trained) and applies `PromotionRule`.
    private func decidePromotion(candidate: String, validation: [PreparedScan]) throws -> (Bool, String) {
        guard !validation.isEmpty else { return (true, "promoted: no validation scans to compare on") }
        let predictor = try Predictor(model: candidate)
        guard predictor.preprocessing == config.training.preprocessing else {
            throw DaemonError(reason: "it was trained at another input size")
        }
        let evaluation = try ModelScoring.evaluate(predictor, on: validation, gate: gate)
        return ModelScoring.decide(candidate: evaluation, active: try catalog.activeRun(), on: validation,
                                   preprocessing: config.training.preprocessing, gate: gate)
    }
}

/// Records each epoch in the catalog and logs Keras-like lines (no progress bar in a service).
final class CatalogProgress: TrainingProgress {
    let catalog: Catalog
    let runID: String
    let log: Logger
    let tracker: TrainingTracker
    let heartbeat: () -> Void

    init(catalog: Catalog, runID: String, log: Logger, tracker: TrainingTracker, heartbeat: @escaping () -> Void) {
        (self.catalog, self.runID, self.log, self.tracker, self.heartbeat) = (catalog, runID, log, tracker, heartbeat)
    }

    func epochStarted(epoch: Int, of epochs: Int, steps: Int) {
        heartbeat()
        tracker.epochStarted(epoch: epoch, epochs: epochs, steps: steps)
    }

    func stepFinished(step: Int, of steps: Int, loss: Double, accuracy: Double, elapsed: Double) {
        heartbeat()
        tracker.stepFinished(step: step)
    }

    func epochFinished(_ r: EpochRecord, of epochs: Int, savedBest: Bool) {
        tracker.epochFinished(seconds: r.seconds, validationAccuracy: r.validationAccuracy)
        record(r)
        log.info("\(runID) epoch \(r.epoch)/\(epochs): \(Int(r.seconds.rounded())) s, loss \(String(format: "%.4f", r.loss)), acc \(String(format: "%.4f", r.accuracy)), val_loss \(String(format: "%.4f", r.validationLoss)), val_acc \(String(format: "%.4f", r.validationAccuracy))\(savedBest ? " (best so far)" : "")")
    }

    func note(_ text: String) { log.info("\(runID): \(text)") }

    func resumed(history: [EpochRecord]) { history.forEach(record) }

    private func record(_ r: EpochRecord) {
        try? catalog.recordEpoch(EpochRow(runID: runID, epoch: r.epoch, loss: r.loss, acc: r.accuracy, valLoss: r.validationLoss,
                                          valAcc: r.validationAccuracy, valAUC: r.validationAUC, seconds: r.seconds,
                                          valBestAcc: r.validationBestAccuracy, valAccCalibrated: r.calibratedValidationAccuracy,
                                          valECECalibrated: r.calibratedValidationECE))
    }
}

extension RunRecord.State {
    /// A run's end as run.json says it (the same words).
    init(_ status: RunReport.Status) {
        switch status {
        case .running: self = .running
        case .finished: self = .finished
        case .stoppedEarly: self = .stoppedEarly
        case .cancelled: self = .cancelled
        }
    }
}
