import Catalog
import ControlProtocol
import Engine
import Foundation
import Glibc
import NIfTI
import Preprocess
import Scheduling
import Training
import Version

/// The read-only commands: status, scans, runs, metrics, a prediction that stores nothing, what
/// to label next, and the export listing.
extension ControlCommands {

    func status() throws -> StatusInfo {
        let active = try catalog.activeRun()
        return StatusInfo(
            version: Release.version, upSince: PredictionReport.timestamp(startedAt.timeIntervalSince1970), configFile: configFile,
            stateDirectory: folders.root, watching: watcher.isPaused ? "paused" : "watching \(folders.inbox)", paused: watcher.isPaused,
            queues: StatusInfo.queues(try catalog.jobCounts()), scans: try catalog.scanCounts().byName, activeModel: active.map { RunSummary($0, activeID: $0.id) }, training: trainer.tracker.info,
            problems: try problems(), compute: ComputeInfo(cpuISA: InstructionSet.effective.name, oneDNN: Engine.libraryVersion,
                                                       precision: config.precision.precision.rawValue, precisionReason: config.precision.reason),
            nextTraining: trainer.isTraining ? nil : {
                if case .wait(let reason) = try? trainer.policyDecision(requested: false) { return reason }
                return nil
            }())
    }

    /// What stops work until someone acts: a full disk, or a training run that failed for a
    /// reason that would recur (it is not retried).
    func problems() throws -> [String]? {
        var found: [String] = []
        if let space = room.problem { found.append(space + " (free space or lower limits.min_free_bytes; work resumes by itself)") }
        if let last = try catalog.runs(limit: 1).first, last.state == .failed, let error = last.error {
            // A parked job is not retried: someone must fix the cause (a queued one retries by itself).
            let parked = try catalog.jobs(kind: .train, state: .parked).contains { $0.subject == last.id }
            found.append("training run \(last.id) failed: \(error)" + (parked ? " (not retried: fix the cause, then ctctl retrain)" : " (retrying)"))
        }
        return found.isEmpty ? nil : found
    }

    func scans(_ request: Request) throws -> [ScanSummary] {
        let label = try Self.word(ScanLabel.self, request.label, named: "label").map(ScanRecord.Label.init)
        let state = try Self.word(ScanState.self, request.state, named: "state").map(ScanRecord.State.init)
        let limit = max(1, min(request.limit ?? 100, 100_000))
        return try catalog.scans(label: label, state: state, limit: limit).map(ScanSummary.init)
    }

    /// A request's word, or a bad request that lists the words allowed ("a, b or c").
    static func word<Word: ProtocolWord & CaseIterable>(_: Word.Type, _ text: String?, named name: String) throws -> Word? {
        guard let text else { return nil }
        guard let word = Word(rawValue: text) else {
            let words = Word.allCases.map(\.rawValue)
            throw ControlError(.badRequest, "\(name) must be " + (words.count < 2 ? words.joined() : words.dropLast().joined(separator: ", ") + " or " + words.last!))
        }
        return word
    }

    func scanDetail(_ request: Request) throws -> ScanDetail {
        guard let key = request.target, !key.isEmpty else { throw ControlError(.badRequest, "scan needs an id, a hash or a file name") }
        try trainer.resolveLabelConflicts()
        guard let scan = try catalog.findScan(key) else {
            throw ControlError(.notFound, "no scan known as \"\(key)\" (ctctl scans lists them)")
        }
        let files = try catalog.files(scanID: scan.id)
        let predictions = try catalog.predictions(scanID: scan.id).map { p in
            PredictionSummary(file: files.first { $0.id == p.fileID }?.inboxPath ?? "", runID: p.runID, probabilityAbnormal: p.probabilityAbnormal,
                              decision: Decision(p.decision), report: p.report, at: PredictionReport.timestamp(p.createdAt))
        }
        return ScanDetail(scan: ScanSummary(scan),
                          files: files.map { .init(inboxPath: $0.inboxPath, destination: $0.destination, outcome: FileOutcome($0.outcome),
                                                   arrivedAt: PredictionReport.timestamp($0.arrivedAt)) },
                          facts: scan.facts.map { .object(JSONValue.object(json: $0)) }, predictions: predictions)
    }

    func runDetail(_ request: Request) throws -> RunDetail {
        guard let id = request.target else { throw ControlError(.badRequest, "run needs a run id (see ctctl runs)") }
        guard let run = try catalog.run(id: id) else { throw ControlError(.notFound, "no training run \"\(id)\" (ctctl runs lists them)") }
        let epochs = try catalog.epochs(runID: id).map {
            EpochInfo(epoch: $0.epoch, loss: $0.loss, acc: $0.acc, valLoss: $0.valLoss, valAcc: $0.valAcc, valAUC: $0.valAUC, seconds: $0.seconds,
                      valBestAcc: $0.valBestAcc, valAccCalibrated: $0.valAccCalibrated, valECECalibrated: $0.valECECalibrated)
        }
        return RunDetail(run: RunSummary(run, activeID: try catalog.activeRun()?.id), folder: run.folder, epochs: epochs)
    }

    func metricsText() throws -> String {
        let totals = try catalog.totals()
        let snapshot = metrics.snapshot
        let queues = try catalog.jobCounts()
        typealias F = PrometheusText.Family
        typealias S = PrometheusText.Sample
        return PrometheusText.render([
            F(name: "ctd_files_total", help: "Files taken from the inbox, by outcome.", type: "counter",
              samples: FileOutcome.allCases.map { S(labels: "outcome=\"\($0.rawValue)\"", value: totals["files_" + $0.rawValue] ?? 0) }),
            F(name: "ctd_predictions_total", help: "Reports written to the outbox.", type: "counter",
              samples: [S(value: totals["predictions"] ?? 0)]),
            PrometheusText.histogram(name: "ctd_report_latency_seconds", help: "From a request taken from the inbox to its report, since start.",
                                     buckets: Metrics.latencyBuckets, counts: snapshot.latencyCounts, sum: snapshot.latencySum),
            F(name: "ctd_training_runs_total", help: "Training runs started.", type: "counter", samples: [S(value: totals["runs"] ?? 0)]),
            F(name: "ctd_training_epochs_total", help: "Training epochs completed.", type: "counter", samples: [S(value: totals["epochs"] ?? 0)]),
            F(name: "ctd_training_seconds_total", help: "Time spent in training epochs.", type: "counter",
              samples: [S(value: totals["epoch_seconds"] ?? 0)]),
            F(name: "ctd_jobs", help: "Jobs by kind and state.", type: "gauge",
              samples: StatusInfo.queues(queues).sorted { $0.key < $1.key }.flatMap { kind, states in
                  states.sorted { $0.key < $1.key }.map { S(labels: "kind=\"\(kind)\",state=\"\($0.key)\"", value: Double($0.value)) }
              }),
            F(name: "ctd_training_in_progress", help: "1 while a training run is in progress.", type: "gauge", samples: [S(value: trainer.isTraining ? 1 : 0)]),
            F(name: "ctd_control_requests_total", help: "Control requests since start, by command.", type: "counter",
              samples: snapshot.requests.sorted { $0.key < $1.key }.map { S(labels: "command=\"\($0.key)\"", value: Double($0.value)) }),
            F(name: "ctd_up_since_seconds", help: "When the daemon started (Unix time).", type: "gauge",
              samples: [S(value: startedAt.timeIntervalSince1970.rounded())]),
            F(name: "ctd_cpu_isa", help: "The CPU instruction-set tier oneDNN runs, and the training precision chosen for it.", type: "gauge",
              samples: [S(labels: "isa=\"\(InstructionSet.effective.name)\",precision=\"\(config.precision.precision.rawValue)\",onednn=\"\(Engine.libraryVersion)\"",
                          value: 1)]),
        ])
    }

    /// A file the caller opened and passed over the socket: the daemon reads exactly what the
    /// caller may read. Answered with the active model; nothing is stored.
    func predict(_ request: Request, descriptor: Int32?) throws -> PredictResult {
        guard let descriptor else { throw ControlError(.badRequest, "predict needs the file's descriptor passed with the request (SCM_RIGHTS)") }
        let name = request.target ?? "scan"
        guard let model = model.current else {
            throw ControlError(.notFound, "no model yet: add labelled scans to the inbox's CT-0/ and CT-23/ (ctctl status shows progress)")
        }
        var info = stat()
        guard fstat(descriptor, &info) == 0, (info.st_mode & S_IFMT) == S_IFREG else {
            throw ControlError(.badRequest, "\(name): not a regular file")
        }
        let volume: Volume
        do {
            volume = try NIfTIReader(limits: config.limits).read(path: "/proc/self/fd/\(descriptor)")
        } catch {
            throw ControlError(.failed, "\(name): \(error.reason)")
        }
        let prediction = try gate.urgent {
            try model.predictor.predict(Preprocessor(model.predictor.preprocessing).run(volume), file: name)
        }
        return PredictResult(file: name, probabilityAbnormal: prediction.probabilityAbnormal, probabilityNormal: prediction.probabilityNormal,
                             decision: Decision(probabilityAbnormal: prediction.probabilityAbnormal, threshold: config.threshold),
                             sentences: prediction.sentences, runID: model.runID, logit: prediction.logit, calibrated: prediction.calibrated)
    }

    /// The unlabelled scans the model is least sure of (`LabelingQueue`), with where each one is
    /// archived and the folders a copy labels it in.
    func nextToLabel(limit: Int) throws -> LabelingSuggestions {
        let activeID = try catalog.activeRun()?.id
        let known = try catalog.unlabelledScans()
        let byID = Dictionary(uniqueKeysWithValues: known.map { ($0.scan.id, $0) })
        let candidates = known.compactMap { entry in
            entry.prediction.map { LabelingQueue.Candidate(scanID: entry.scan.id, probabilityAbnormal: $0.probabilityAbnormal, predictedAt: $0.createdAt) }
        }
        let suggestions = LabelingQueue.next(candidates, limit: limit).compactMap { candidate -> LabelingSuggestions.Suggestion? in
            guard let entry = byID[candidate.scanID], let prediction = entry.prediction, let archived = entry.archived else { return nil }
            return .init(scanID: entry.scan.id, hash: entry.scan.hash, name: entry.scan.name, probabilityAbnormal: prediction.probabilityAbnormal,
                         runID: prediction.runID, byActiveModel: prediction.runID == activeID, archived: archived)
        }
        return LabelingSuggestions(suggestions: suggestions, normalFolder: folders.inbox + "/CT-0", abnormalFolder: folders.inbox + "/CT-23",
                                   unpredicted: known.count - candidates.count)
    }

    /// The labelled scans training would use, with their cache tensors, a page per progress line.
    func exportListing(_ request: Request, send: (Response) throws -> Void) throws {
        let parameters = config.training.preprocessing
        let fraction = config.training.validationFraction
        let labelled = try catalog.labelledScans(key: parameters.key)
        let entries = labelled.compactMap { scan, cache in
            scan.label.map { label in
                ExportListing.Entry(hash: scan.hash, label: label, split: ValidationSplit.isValidation(hash: scan.hash, fraction: fraction) ? .validation : .train,
                                    name: scan.name, tensor: cache.path, checksum: cache.checksum)
            }
        }
        let missing = try catalog.scansMissingCache(key: parameters.key).filter { $0.scan.label != nil && !$0.scan.labelConflict }.count
        let preprocessing = try JSONValue.encoding(parameters)
        func listing(_ page: [ExportListing.Entry]) -> ExportListing {
            ExportListing(entries: page, total: entries.count, withoutTensor: missing, preprocessing: preprocessing, validationFraction: fraction,
                          stateDirectory: folders.root)
        }
        for start in stride(from: 0, to: entries.count, by: ExportListing.pageSize) {
            try send(Response(id: request.id, done: false, result: try .encoding(listing(Array(entries[start..<min(start + ExportListing.pageSize, entries.count)])))))
        }
        try send(Response(id: request.id, result: try .encoding(listing([]))))
    }
}
