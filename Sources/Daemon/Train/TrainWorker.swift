import Catalog
import Foundation
import Logging
import Scheduling
import Training

/// The train stage, at lower CPU priority: starts a run when `RetrainPolicy` says so (or when
/// asked), runs it as a `TrainingJob`, and loads the new model when it is promoted. Training
/// steps share the CPU with predictions through the `ComputeGate`.
final class TrainWorker: Worker, @unchecked Sendable {
    let name = "train"
    private let folders: StateFolders
    private let catalog: Catalog
    private let config: CurrentConfig
    private let room: RoomKeeper
    private let jobs: JobRunner
    private let gate: ComputeGate
    private let cache: ScanCache
    private let model: ActiveModel
    let tracker: TrainingTracker
    private let log: Logger
    private let heartbeats: Heartbeats
    /// Rung by new labels, requests, and the end of a pause.
    private let doorbell: Doorbell
    private let isPaused: @Sendable () -> Bool

    private let lock = NSLock()
    private let stopping = Flag()
    private var training: CancellationFlag?
    private var retrainRequested = false
    private var reasons: [String: String] = [:]

    init(folders: StateFolders, catalog: Catalog, config: CurrentConfig, room: RoomKeeper, jobs: JobRunner, gate: ComputeGate, cache: ScanCache,
         model: ActiveModel, tracker: TrainingTracker, log: Logger, heartbeats: Heartbeats, doorbell: Doorbell, isPaused: @escaping @Sendable () -> Bool) {
        (self.folders, self.catalog, self.config, self.room, self.jobs, self.gate, self.cache) = (folders, catalog, config, room, jobs, gate, cache)
        (self.model, self.tracker, self.log, self.heartbeats, self.doorbell, self.isPaused) = (model, tracker, log, heartbeats, doorbell, isPaused)
    }

    var isTraining: Bool { lock.withLock { training != nil } }

    /// Starts a training run now (if there is enough data), without waiting for the schedule.
    func requestRetrain() {
        lock.withLock { retrainRequested = true }
        doorbell.ring()
    }

    /// Cancels the run in progress (it ends as cancelled, not promoted); its id, or nil.
    func cancel() -> String? {
        lock.withLock { () -> String? in
            guard let flag = training else { return nil }
            flag.cancel()
            return tracker.info?.runID ?? "the current run"
        }
    }

    /// A run in progress is suspended at its next step; it resumes on the next start.
    func stop() {
        lock.withLock {
            stopping.raise()
            training?.suspend()
        }
        doorbell.ring()
    }

    /// Looks at the retrain policy again now (a pause ended, the configuration changed).
    func wake() { doorbell.ring() }

    func run() {
        ProcessPriority.lower(by: config.value.trainingNice)
        while !stopping.isRaised {
            let seen = doorbell.count
            heartbeats.beat(name)
            guard room.hasRoom() else { doorbell.wait(5, since: seen); continue }
            do {
                if let job = try catalog.claimNext(.train, now: Daemon.now()) {
                    try train(job)
                } else if let reason = try retrainDecision() {
                    let runID = Trainer.newRunID()
                    lock.withLock { reasons[runID] = reason }
                    try catalog.enqueue(.train, subject: runID, now: Daemon.now())
                    log.notice("starting training run \(runID): \(reason)")
                } else {
                    // The policy also waits on time (the schedule, a quiet period): look again in a while.
                    doorbell.wait(5, since: seen)
                }
            } catch {
                log.error("training: \(error)")
                doorbell.wait(5, since: seen)
            }
        }
    }

    /// Why to start a run now, or nil to wait.
    private func retrainDecision() throws -> String? {
        let requested = lock.withLock { () -> Bool in
            defer { retrainRequested = false }
            return retrainRequested
        }
        switch try policyDecision(requested: requested) {
        case .start(let reason): return reason
        case .wait(let reason):
            if requested { log.warning("retrain requested, but \(reason)") }
            return nil
        }
    }

    /// What the retrain policy says now, given the catalog (and a request, if any).
    func policyDecision(requested: Bool) throws -> RetrainPolicy.Decision {
        let config = self.config.value
        try resolveLabelConflicts()
        let labelled = try catalog.labelledScans(key: config.training.preprocessing.key)
        let lastStart = try catalog.lastRunStart()
        let facts = RetrainPolicy.Facts(now: Daemon.now(), requested: requested, trainingNow: isTraining, paused: isPaused(), lastRunStart: lastStart,
                                        newLabels: try catalog.labelledCount(since: lastStart),
                                        normal: labelled.filter { $0.scan.label == 0 }.count,
                                        abnormal: labelled.filter { $0.scan.label == 1 }.count,
                                        validation: labelled.filter { ValidationSplit.isValidation(hash: $0.scan.hash, fraction: config.training.validationFraction) }.count,
                                        batchSize: config.training.batchSize)
        return config.retrain.decide(facts)
    }

    /// Scans labelled both ways whose wrong copy was removed from archive/ are used again.
    func resolveLabelConflicts() throws {
        for scan in try catalog.resolveLabelConflicts(now: Daemon.now(), exists: { access($0, F_OK) == 0 }) {
            log.notice("scan \(scan.id) (\(FileNaming.printable(scan.name))): its archived copies now agree on \(InboxPath.labelName(scan.label ?? 0)); it is used for training again")
        }
    }

    private func train(_ job: JobRecord) throws {
        let config = self.config.value
        let cancellation = CancellationFlag()
        let proceed = lock.withLock { () -> Bool in
            if stopping.isRaised { return false }
            training = cancellation
            return true
        }
        guard proceed else { try catalog.release(jobID: job.id, now: Daemon.now()); return }
        defer {
            lock.withLock { training = nil }
            tracker.settled()
        }
        let reason = lock.withLock { reasons.removeValue(forKey: job.subject) } ?? "resumed after a restart"
        let run = TrainingJob(job: job, config: config, cancellation: cancellation, reason: reason, folders: folders, catalog: catalog,
                              cache: cache, gate: gate, tracker: tracker, log: log) { [heartbeats, name] in heartbeats.beat(name) }
        var ended: RunRecord?
        let end = jobs.run(job, maxAttempts: TrainingJob.maxAttempts) { () throws -> JobRunner.Finish in
            switch try run.run() {
            case .ended(let run):
                ended = run
                return .complete
            case .suspended:
                log.notice("training run \(job.subject) suspended; it resumes on the next start")
                return .release
            case .outOfSpace(let error):
                throw error
            case .failed(let reason, let recurs):
                throw TrainingFailure(reason: reason, recurs: recurs)
            }
        }
        switch end {
        case .done:
            if let ended, ended.promoted { model.load(ended) }
        case .retrying(let error):
            log.error("training run \(job.subject) failed: \(error); it will be retried")
        case .parked(let error as TrainingFailure) where error.recurs:
            log.error("training run \(job.subject) failed: \(error); not retried, as it would fail the same way: fix the cause, then ctctl retrain")
        case .parked(let error):
            log.error("training run \(job.subject) failed: \(error); not retried again")
        case .released, .waitingForSpace:
            break
        }
    }
}
