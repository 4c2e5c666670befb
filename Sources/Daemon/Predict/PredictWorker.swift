import AtomicFile
import Catalog
import ControlProtocol
import Engine
import Foundation
import Logging
import Scheduling
import Training

/// The predict stage: answers prediction jobs with the active model and writes each report (JSON
/// and PNG) to the outbox. A request is usually answered by the ingest worker that took it, at
/// once (`predictNow`); this worker answers the rest, and those that waited for a model.
final class PredictWorker: Worker, @unchecked Sendable {
    let name = "predict"
    private let folders: StateFolders
    private let catalog: Catalog
    private let config: CurrentConfig
    private let room: RoomKeeper
    private let jobs: JobRunner
    private let gate: ComputeGate
    private let cache: ScanCache
    private let model: ActiveModel
    private let metrics: Metrics
    private let log: Logger
    private let heartbeats: Heartbeats
    /// Rung when a request arrives or a model is loaded.
    private let doorbell: Doorbell
    private let stopping = Flag()

    init(folders: StateFolders, catalog: Catalog, config: CurrentConfig, room: RoomKeeper, jobs: JobRunner, gate: ComputeGate,
         cache: ScanCache, model: ActiveModel, metrics: Metrics, log: Logger, heartbeats: Heartbeats, doorbell: Doorbell) {
        (self.folders, self.catalog, self.config, self.room, self.jobs, self.gate) = (folders, catalog, config, room, jobs, gate)
        (self.cache, self.model, self.metrics, self.log, self.heartbeats, self.doorbell) = (cache, model, metrics, log, heartbeats, doorbell)
    }

    func stop() {
        stopping.raise()
        doorbell.ring()
    }

    func run() {
        while !stopping.isRaised {
            let seen = doorbell.count
            heartbeats.beat(name)
            guard let model = model.current else { doorbell.wait(Heartbeats.idleBeat, since: seen); continue }
            guard room.hasRoom() else { doorbell.wait(5, since: seen); continue }
            do {
                guard let job = try catalog.claimNext(.predict, now: Daemon.now()) else { doorbell.wait(Heartbeats.idleBeat, since: seen); continue }
                logFailure(jobs.run(job, maxAttempts: config.value.maxAttempts) { try predict(job, model: model); return .complete }, of: job)
            } catch {
                log.error("predict: \(error)")
                doorbell.wait(1, since: seen)
            }
        }
    }

    /// Answers a request right after its ingest, when a model is active (the caller holds the gate).
    /// A failure here leaves it to this worker's thread.
    func predictNow(fileID: Int64) {
        guard let model = model.current, room.hasRoom() else { return }
        do {
            guard let job = try catalog.claim(.predict, subject: String(fileID), now: Daemon.now()) else { return }
            logFailure(jobs.run(job, maxAttempts: config.value.maxAttempts) { try predict(job, model: model, holdingGate: true); return .complete }, of: job)
        } catch {
            log.error("predict: \(error)")
        }
    }

    private func logFailure(_ end: JobRunner.JobEnd, of job: JobRecord) {
        switch end {
        case .retrying(let error): log.error("prediction for file \(job.subject) failed, will retry: \(error)")
        case .parked(let error): log.error("prediction for file \(job.subject) failed for the last time: \(error)")
        case .done, .released, .waitingForSpace: break
        }
    }

    private func predict(_ job: JobRecord, model: ActiveModel.Loaded, holdingGate: Bool = false) throws {
        let config = self.config.value
        guard let fileID = Int64(job.subject), let file = try catalog.file(id: fileID), let scan = try catalog.scan(id: file.scanID) else {
            throw DaemonError(reason: "job \(job.id) names no known file")
        }
        let grid = try cache.grid(scan: scan, parameters: model.predictor.preprocessing, limits: config.limits, original: file.destination)
        let start = DispatchTime.now()
        let (prediction, saliency) = try holdingGate ? model.predictor.predictExplained(grid, file: file.inboxPath)
            : gate.urgent { try model.predictor.predictExplained(grid, file: file.inboxPath) }
        let predictMilliseconds = Double(DispatchTime.now().uptimeNanoseconds - start.uptimeNanoseconds) / 1e6
        let run = try catalog.run(id: model.runID)
        let decision = Decision(probabilityAbnormal: prediction.probabilityAbnormal, threshold: config.threshold)
        let stem = try outboxStem(for: file)
        let picture = stem + ".png"
        var warnings: [String] = []
        if let trainingOrientation = try catalog.commonLabelledOrientation(), let orientation = scan.orientation, orientation != trainingOrientation {
            warnings.append("this scan's orientation (\(orientation)) differs from the training set's (\(trainingOrientation)); the model may not apply")
        }
        let png = try PredictionReport.montage(grid, caption: PredictionReport.caption(decision: decision,
                                                                                      probabilityAbnormal: prediction.probabilityAbnormal,
                                                                                      file: file.inboxPath),
                                               saliency: saliency)
        try AtomicFile.write(png, to: picture)
        let now = Daemon.now()
        let report = PredictionReport(
            fileID: file.id, file: file.inboxPath, hash: scan.hash, scan: JSONValue.object(json: scan.facts),
            model: .init(runID: model.runID, valLoss: run?.valLoss, valAcc: run?.valAcc, valAUC: run?.valAUC,
                         trainedAt: run?.endedAt.map(PredictionReport.timestamp), precision: model.predictor.precision.rawValue,
                         cpuISA: InstructionSet.effective.name, calibration: model.predictor.calibrationReport),
            probabilityAbnormal: prediction.probabilityAbnormal, probabilityNormal: prediction.probabilityNormal,
            logit: prediction.logit, calibrated: prediction.calibrated, threshold: config.threshold, decision: decision,
            sentences: prediction.sentences, warnings: warnings,
            timings: .init(secondsSinceArrival: now - file.arrivedAt, predictMilliseconds: predictMilliseconds),
            saliency: SaliencySummary(saliency),
            arrivedAt: PredictionReport.timestamp(file.arrivedAt), reportedAt: PredictionReport.timestamp(now),
            picture: (picture as NSString).lastPathComponent)
        try AtomicFile.write(try report.json(), to: stem + ".json")
        try catalog.recordPrediction(fileID: file.id, scanID: scan.id, runID: model.runID, probabilityAbnormal: prediction.probabilityAbnormal,
                                     decision: PredictionRecord.Decision(decision), report: stem + ".json", now: now)
        metrics.observeReport(latency: Daemon.now() - file.arrivedAt)
        log.info("\(file.inboxPath): \(decision.rawValue) (p_abnormal \(String(format: "%.3f", prediction.probabilityAbnormal))) → \(stem).json")
    }

    /// outbox/<name>: the request's name, with a tag when another request already took it.
    private func outboxStem(for file: FileRecord) throws -> String {
        for attempt in 0..<1000 {
            let stem = FileNaming.reportStem(under: folders.outbox, relative: file.inboxPath, tag: FileNaming.tag(attempt: attempt, hash: file.hash))
            guard let data = FileManager.default.contents(atPath: stem + ".json") else { return stem }
            // The same request again (a retry after a crash): overwrite its own report.
            if let object = try? JSONSerialization.jsonObject(with: data) as? [String: Any], (object["file_id"] as? NSNumber)?.int64Value == file.id {
                return stem
            }
        }
        throw DaemonError(reason: "no free report name for \(FileNaming.printable(file.inboxPath)) in \(folders.outbox)")
    }
}
