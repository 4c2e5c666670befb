import Engine
import Catalog
import ControlProtocol
import Foundation
import Glibc
import NIfTI
import Preprocess
import Scheduling
import Training

/// The control commands: one table from command to handler. Read-only commands answer from the
/// catalog and the daemon's state; mutating ones are logged with who asked.
extension Daemon {
    func handle(_ request: Request, peer: Peer, descriptor: Int32?, send: (Response) throws -> Void) {
        func reply(_ result: Result<JSONValue, ControlError>) {
            switch result {
            case .success(let value): try? send(Response(id: request.id, result: value))
            case .failure(let error): try? send(Response(id: request.id, error: error))
            }
        }
        guard let command = Command(rawValue: request.command) else {
            reply(.failure(ControlError(.unknownCommand, "unknown command \"\(request.command)\" (known: \(Command.allCases.map(\.rawValue).joined(separator: ", ")))")))
            return
        }
        metrics.countRequest(command.rawValue)
        guard isAllowed(command, peer: peer) else {
            log.warning("control: refused \(command.rawValue) from \(peer)")
            reply(.failure(ControlError(.permissionDenied, "\(peer.userName) may not use \(command.rawValue)")))
            return
        }
        if command.isMutating { log.notice("control: \(command.rawValue)\(request.target.map { " " + $0 } ?? "") requested by \(peer)") }
        do {
            switch command {
            case .status: reply(.success(try .encoding(status())))
            case .scans: reply(.success(try .encoding(scans(request))))
            case .scan: reply(.success(try .encoding(scanDetail(request))))
            case .runs:
                let activeID = try catalog.activeRun()?.id
                reply(.success(try .encoding(try catalog.runs(limit: request.limit ?? 1000).map { summary($0, activeID: activeID) })))
            case .run: reply(.success(try .encoding(runDetail(request))))
            case .metrics: reply(.success(.string(try metricsText())))
            case .predict: reply(.success(try .encoding(predict(request, descriptor: descriptor))))
            case .nextToLabel: reply(.success(try .encoding(nextToLabel(limit: request.limit ?? 20))))
            case .export: try exportListing(request, send: send)
            case .retrain: try retrain(request, send: send)
            case .cancel:
                guard let run = cancelTraining() else { throw ControlError(.nothingToRetrain, "no training run is in progress") }
                reply(.success(try .encoding(Acknowledgement("cancelling \(run): it stops at its next step"))))
            case .promote:
                guard let id = request.target else { throw ControlError(.badRequest, "promote needs a run id (see ctctl runs)") }
                reply(.success(try .encoding(Acknowledgement(try promote(id, by: peer)))))
            case .importModel:
                guard let descriptor else { throw ControlError(.badRequest, "import needs the checkpoint's descriptor passed with the request (SCM_RIGHTS)") }
                reply(.success(try .encoding(ModelImport(daemon: self).run(descriptor: descriptor, name: request.target ?? "checkpoint",
                                                                           promotion: request.promotion, peer: peer))))
            case .rollback:
                guard let previous = try catalog.previousRunID() else { throw ControlError(.notFound, "there is no earlier active model to roll back to") }
                reply(.success(try .encoding(Acknowledgement(try promote(previous, by: peer)))))
            case .pause:
                setPaused(true)
                reply(.success(try .encoding(Acknowledgement("paused: new files wait in the inbox and scheduled training waits; queued requests are still answered"))))
            case .resume:
                setPaused(false)
                reply(.success(try .encoding(Acknowledgement("resumed: the inbox is rescanned now"))))
            case .reload:
                let done = DispatchSemaphore(value: 0)
                Task { await self.reload(); done.signal() }
                done.wait()
                reply(.success(try .encoding(Acknowledgement("configuration reloaded (see the log for what changed)"))))
            }
        } catch let error as ControlError {
            reply(.failure(error))
        } catch {
            reply(.failure(ControlError(.failed, "\(command.rawValue) failed: \(error)")))
        }
    }

    /// Mutating commands: root, the daemon's own user, or members of control.group (when set; the
    /// socket's permissions already keep everyone else out). Read-only ones also control.read_group.
    func isAllowed(_ command: Command, peer: Peer) -> Bool {
        let control = config.control
        if peer.uid == 0 || peer.uid == getuid() || peer.gid == getgid() { return true }
        let ownGroup = getgrgid(getgid()).map { String(cString: $0.pointee.gr_name) }
        if let controlGroup = control.group.isEmpty ? ownGroup : control.group, peer.belongs(to: controlGroup) { return true }
        // Without a read group the socket is mode 0660: whoever got in is in the socket's group.
        if control.readGroup.isEmpty { return true }
        return !command.isMutating && peer.belongs(to: control.readGroup)
    }

    // MARK: Read-only

    func status() throws -> StatusInfo {
        let active = try catalog.activeRun()
        return StatusInfo(
            version: DaemonVersion.string, upSince: PredictionReport.timestamp(startedAt.timeIntervalSince1970), configFile: configFile,
            stateDirectory: folders.root, watching: isPaused ? "paused" : "watching \(folders.inbox)", paused: isPaused,
            queues: try catalog.jobCounts(), scans: try catalog.scanCounts().byName, activeModel: active.map { summary($0, activeID: $0.id) }, training: tracker.info,
            problems: try problems(), compute: ComputeInfo(cpuISA: InstructionSet.effective.name, oneDNN: Engine.libraryVersion,
                                                       precision: config.precision.precision.rawValue, precisionReason: config.precision.reason),
            nextTraining: isTraining ? nil : {
                if case .wait(let reason) = try? retrainPolicyDecision(requested: false) { return reason }
                return nil
            }())
    }

    /// What stops work until someone acts: a full disk, or a training run that failed for a
    /// reason that would recur (it is not retried).
    private func problems() throws -> [String]? {
        var found: [String] = []
        if let space = room.problem { found.append(space + " (free space or lower limits.min_free_bytes; work resumes by itself)") }
        if let last = try catalog.runs(limit: 1).first, last.state == .failed, let error = last.error {
            // A parked job is not retried: someone must fix the cause (a queued one retries by itself).
            let parked = try catalog.jobs(kind: .train, state: .parked).contains { $0.subject == last.id }
            found.append("training run \(last.id) failed: \(error)" + (parked ? " (not retried: fix the cause, then ctctl retrain)" : " (retrying)"))
        }
        return found.isEmpty ? nil : found
    }

    func summary(_ run: RunRecord, activeID: String?) -> RunSummary {
        RunSummary(id: run.id, state: run.state.rawValue, reason: run.reason, startedAt: PredictionReport.timestamp(run.startedAt),
                   endedAt: run.endedAt.map(PredictionReport.timestamp), trainCount: run.trainCount, validationCount: run.validationCount,
                   bestEpoch: run.bestEpoch, valLoss: run.valLoss, valAcc: run.valAcc, valAUC: run.valAUC,
                   active: run.id == activeID, promotionNote: run.promotionNote, error: run.error, origin: run.origin.rawValue, source: run.source)
    }

    private func scans(_ request: Request) throws -> [ScanSummary] {
        if let label = request.label, !["normal", "abnormal", "none", "conflict"].contains(label) {
            throw ControlError(.badRequest, "label must be normal, abnormal, none or conflict")
        }
        if let state = request.state, !["cached", "rejected"].contains(state) {
            throw ControlError(.badRequest, "state must be cached or rejected")
        }
        let limit = max(1, min(request.limit ?? 100, 100_000))
        return try catalog.scans(label: request.label, state: request.state, limit: limit).map(summary)
    }

    private func summary(_ scan: ScanRecord) -> ScanSummary {
        ScanSummary(id: scan.id, hash: scan.hash, name: scan.name, label: scan.labelConflict ? "conflict" : scan.label.map { $0 == 0 ? "normal" : "abnormal" } ?? "none",
                    state: scan.state.rawValue, size: scan.size, arrivedAt: PredictionReport.timestamp(scan.createdAt), error: scan.error)
    }

    private func scanDetail(_ request: Request) throws -> ScanDetail {
        guard let key = request.target, !key.isEmpty else { throw ControlError(.badRequest, "scan needs an id, a hash or a file name") }
        try resolveLabelConflicts()
        guard let scan = try catalog.findScan(key) else {
            throw ControlError(.notFound, "no scan known as \"\(key)\" (ctctl scans lists them)")
        }
        let files = try catalog.files(scanID: scan.id)
        let predictions = try catalog.predictions(scanID: scan.id).map { p in
            PredictionSummary(file: files.first { $0.id == p.fileID }?.inboxPath ?? "", runID: p.runID, probabilityAbnormal: p.probabilityAbnormal,
                              decision: p.decision, report: p.report, at: PredictionReport.timestamp(p.createdAt))
        }
        return ScanDetail(scan: summary(scan),
                          files: files.map { .init(inboxPath: $0.inboxPath, destination: $0.destination, outcome: $0.outcome.rawValue,
                                                   arrivedAt: PredictionReport.timestamp($0.arrivedAt)) },
                          facts: scan.facts.map { .object(JSONValue.object(json: $0)) }, predictions: predictions)
    }

    private func runDetail(_ request: Request) throws -> RunDetail {
        guard let id = request.target else { throw ControlError(.badRequest, "run needs a run id (see ctctl runs)") }
        guard let run = try catalog.run(id: id) else { throw ControlError(.notFound, "no training run \"\(id)\" (ctctl runs lists them)") }
        let epochs = try catalog.epochs(runID: id).map {
            EpochInfo(epoch: $0.epoch, loss: $0.loss, acc: $0.acc, valLoss: $0.valLoss, valAcc: $0.valAcc, valAUC: $0.valAUC, seconds: $0.seconds,
                      valBestAcc: $0.valBestAcc, valAccCalibrated: $0.valAccCalibrated, valECECalibrated: $0.valECECalibrated)
        }
        return RunDetail(run: summary(run, activeID: try catalog.activeRun()?.id), folder: run.folder, epochs: epochs)
    }

    private func metricsText() throws -> String {
        let totals = try catalog.totals()
        let snapshot = metrics.snapshot
        let queues = try catalog.jobCounts()
        typealias F = PrometheusText.Family
        typealias S = PrometheusText.Sample
        return PrometheusText.render([
            F(name: "ctd_files_total", help: "Files taken from the inbox, by outcome.", type: "counter",
              samples: ["archived", "rejected"].map { S(labels: "outcome=\"\($0)\"", value: totals["files_" + $0] ?? 0) }),
            F(name: "ctd_predictions_total", help: "Reports written to the outbox.", type: "counter",
              samples: [S(value: totals["predictions"] ?? 0)]),
            PrometheusText.histogram(name: "ctd_report_latency_seconds", help: "From a request taken from the inbox to its report, since start.",
                                     buckets: Metrics.latencyBuckets, counts: snapshot.latencyCounts, sum: snapshot.latencySum),
            F(name: "ctd_training_runs_total", help: "Training runs started.", type: "counter", samples: [S(value: totals["runs"] ?? 0)]),
            F(name: "ctd_training_epochs_total", help: "Training epochs completed.", type: "counter", samples: [S(value: totals["epochs"] ?? 0)]),
            F(name: "ctd_training_seconds_total", help: "Time spent in training epochs.", type: "counter",
              samples: [S(value: totals["epoch_seconds"] ?? 0)]),
            F(name: "ctd_jobs", help: "Jobs by kind and state.", type: "gauge",
              samples: queues.sorted { $0.key < $1.key }.flatMap { kind, states in
                  states.sorted { $0.key < $1.key }.map { S(labels: "kind=\"\(kind)\",state=\"\($0.key)\"", value: Double($0.value)) }
              }),
            F(name: "ctd_training_in_progress", help: "1 while a training run is in progress.", type: "gauge", samples: [S(value: isTraining ? 1 : 0)]),
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
    private func predict(_ request: Request, descriptor: Int32?) throws -> PredictResult {
        guard let descriptor else { throw ControlError(.badRequest, "predict needs the file's descriptor passed with the request (SCM_RIGHTS)") }
        let name = request.target ?? "scan"
        guard let model = activeModel else {
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
                             decision: PredictionReport.decision(probabilityAbnormal: prediction.probabilityAbnormal, threshold: config.threshold),
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
    private func exportListing(_ request: Request, send: (Response) throws -> Void) throws {
        let parameters = config.training.preprocessing
        let fraction = config.training.validationFraction
        let labelled = try catalog.labelledScans(key: parameters.key)
        let entries = labelled.compactMap { scan, cache in
            scan.label.map { label in
                ExportListing.Entry(hash: scan.hash, label: label, split: ValidationSplit.isValidation(hash: scan.hash, fraction: fraction) ? "validation" : "train",
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

    // MARK: Mutating

    /// Starts a run now (or reports why it cannot); with `wait`, streams its progress until it ends.
    private func retrain(_ request: Request, send: (Response) throws -> Void) throws {
        var runID = tracker.info?.runID
        if runID == nil {
            if case .wait(let reason) = try retrainPolicyDecision(requested: true) {
                throw ControlError(.nothingToRetrain, "cannot train now: \(reason)")
            }
            let before = try catalog.lastRunStart()
            requestRetrain()
            let deadline = Date().addingTimeInterval(30)
            while Date() < deadline {
                if let info = tracker.info { runID = info.runID; break }
                if let latest = try catalog.runs(limit: 1).first, latest.startedAt > (before ?? -1) { runID = latest.id; break }
                Thread.sleep(forTimeInterval: 0.05)
            }
            guard runID != nil else { throw ControlError(.failed, "the training run did not start within 30 s: see the log") }
        }
        guard let runID else { return }
        guard request.wait == true else {
            try send(Response(id: request.id, result: try .encoding(Acknowledgement("training run \(runID) started"))))
            return
        }
        var last: TrainingInfo?
        var endedAt: Date?
        while true {
            // Ended, and if promoted, already serving (a `predict` right after gets the new model;
            // a model that fails to load is in the log, and the answer comes 30 s later anyway).
            if let run = try catalog.run(id: runID), run.state != .running, tracker.info?.runID != runID {
                endedAt = endedAt ?? Date()
            }
            if let endedAt, let run = try catalog.run(id: runID),
               !run.promoted || activeRunID == runID || Date().timeIntervalSince(endedAt) > 30 {
                try send(Response(id: request.id, result: try .encoding(summary(run, activeID: try catalog.activeRun()?.id))))
                return
            }
            if isStopping {
                throw ControlError(.failed, "ctd is stopping; run \(runID) resumes on its next start")
            }
            if let info = tracker.info, info.runID == runID, info != last {
                try send(Response(id: request.id, done: false, result: try .encoding(info)))
                last = info
            }
            Thread.sleep(forTimeInterval: 0.2)
        }
    }

    private func promote(_ id: String, by peer: Peer) throws -> String {
        guard let run = try catalog.run(id: id) else { throw ControlError(.notFound, "no training run \"\(id)\" (ctctl runs lists them)") }
        guard run.state != .running else { throw ControlError(.badRequest, "run \(id) is still training") }
        guard FileManager.default.fileExists(atPath: run.folder + "/best.safetensors") else {
            throw ControlError(.badRequest, "run \(id) has no best.safetensors to serve (it \(run.state.rawValue) before its first epoch)")
        }
        _ = try Predictor(model: run.folder)  // refuse a checkpoint that does not load before switching
        try catalog.activate(runID: id)
        loadModel(run)
        return "\(id) is now the active model (chosen by \(peer.userName))"
    }
}

public enum DaemonVersion {
    public static let string = ControlProtocol.softwareVersion
}
