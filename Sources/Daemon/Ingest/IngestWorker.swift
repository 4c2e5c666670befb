import Catalog
import Foundation
import Logging
import NIfTI
import Training
import Scheduling

/// The ingest stage, one of `ingest.workers`: takes ingest jobs (a bounded pool: a flood of files
/// waits in the catalog, not in memory) through the `Ingestor`, logs what became of each file,
/// and when idle rebuilds cache tensors that the current preprocessing parameters lack.
final class IngestWorker: Worker, @unchecked Sendable {
    let name: String
    private let folders: StateFolders
    private let catalog: Catalog
    private let config: CurrentConfig
    private let room: RoomKeeper
    private let jobs: JobRunner
    private let gate: ComputeGate
    private let cache: ScanCache
    private let log: Logger
    private let heartbeats: Heartbeats
    /// Rung when a file is queued (by the watcher).
    private let doorbell: Doorbell
    /// Rung when a scan was archived: a request to answer, or a label for training.
    private let arrived: @Sendable () -> Void
    /// Answers a request at once, while this worker holds the compute gate.
    private let predictNow: @Sendable (Int64) -> Void
    private let lookAgainLater: @Sendable (String, Double) -> Void
    private let stopping = Flag()

    init(name: String, folders: StateFolders, catalog: Catalog, config: CurrentConfig, room: RoomKeeper, jobs: JobRunner, gate: ComputeGate,
         cache: ScanCache, log: Logger, heartbeats: Heartbeats, doorbell: Doorbell, arrived: @escaping @Sendable () -> Void,
         predictNow: @escaping @Sendable (Int64) -> Void, lookAgainLater: @escaping @Sendable (String, Double) -> Void) {
        (self.name, self.folders, self.catalog, self.config, self.room, self.jobs) = (name, folders, catalog, config, room, jobs)
        (self.gate, self.cache, self.log, self.heartbeats, self.doorbell) = (gate, cache, log, heartbeats, doorbell)
        (self.arrived, self.predictNow, self.lookAgainLater) = (arrived, predictNow, lookAgainLater)
    }

    func stop() {
        stopping.raise()
        doorbell.ring()
    }

    func run() {
        while !stopping.isRaised {
            let config = self.config.value
            let seen = doorbell.count
            heartbeats.beat(name)
            guard room.hasRoom() else { doorbell.wait(5, since: seen); continue }
            do {
                if let job = try catalog.claimNext(.ingest, now: Daemon.now()) {
                    ingest(job, config: config)
                } else if try !cache.rebuildOneMissing(parameters: config.training.preprocessing, limits: config.limits, log: log) {
                    doorbell.wait(Heartbeats.idleBeat, since: seen)
                }
            } catch {
                log.error("ingest: \(error)")
                doorbell.wait(1, since: seen)
            }
        }
    }

    static func ingestor(folders: StateFolders, catalog: Catalog, config: DaemonConfig) -> Ingestor {
        Ingestor(folders: folders, catalog: catalog, parameters: config.training.preprocessing,
                 reader: NIfTIReader(limits: config.limits), incompleteGrace: config.incompleteGrace)
    }

    private func ingest(_ job: JobRecord, config: DaemonConfig) {
        let ingestor = Self.ingestor(folders: folders, catalog: catalog, config: config)
        let subject = FileNaming.printable(job.subject)
        var outcome: Ingestor.Outcome?
        let end = jobs.run(job, maxAttempts: config.maxAttempts) { () throws -> JobRunner.Finish in
            // A prediction request is what a person waits for: it goes before training steps, and
            // is answered in the same turn (one wait for the running step, not two).
            outcome = try InboxPath.meaning(of: job.subject) == .predictionRequest
                ? gate.urgent {
                    let outcome = try ingestor.ingest(job.subject, arrived: job.createdAt)
                    if case .archived(let fileID, _, _, true) = outcome { predictNow(fileID) }
                    return outcome
                }
                : ingestor.ingest(job.subject, arrived: job.createdAt)
            return .complete
        }
        switch end {
        case .done:
            if let outcome { report(outcome, of: job, config: config) }
        case .retrying(let error):
            log.error("ingest of \(subject) failed, will retry: \(error)")
        case .parked(let error):
            log.error("ingest of \(subject) failed for the last time: \(error)")
            Self.reject(job.subject, reason: "ingest failed \(config.maxAttempts) times: \(error)", ingestor: ingestor, log: log,
                        lookAgainLater: lookAgainLater)
        case .released, .waitingForSpace:
            break
        }
    }

    private func report(_ outcome: Ingestor.Outcome, of job: JobRecord, config: DaemonConfig) {
        let subject = FileNaming.printable(job.subject)
        switch outcome {
        case .archived(_, let destination, let duplicate, _):
            log.info("ingested \(subject)\(duplicate ? " (already known: same content as an earlier scan)" : "") → \(FileNaming.printable(destination))")
            arrived()
        case .conflicting(_, let destination, let earlier):
            log.warning("""
                \(subject) has the same content as a scan labelled \(InboxPath.labelName(earlier)) but is labelled \
                \(InboxPath.labelName(1 - earlier)): the scan is left out of training until the wrong copy is removed \
                from archive/ (ctctl scan \(subject) lists both) → \(FileNaming.printable(destination))
                """)
            arrived()
        case .rejected(let destination, let reason):
            log.error("rejected \(subject): \(FileNaming.printable(reason)) → \(FileNaming.printable(destination))")
        case .gone:
            log.notice("\(subject) went away before it was read")
        case .changed:
            log.notice("\(subject) changed while it was read: looking at it again as a new arrival")
            lookAgainLater(job.subject, Daemon.now())
        case .incomplete(let until):
            log.notice("\(subject) ends before its header says: taken for a copy in progress, looked at again when it changes (rejected as truncated if still so \(Int(config.incompleteGrace)) s after its last change)")
            lookAgainLater(job.subject, until)
        case .ignored:
            break
        }
    }

    /// An ingest job that failed too often: its file goes to rejected/ with the reason. When even
    /// that fails, the file stays in the inbox and is not tried again until it changes.
    static func reject(_ relative: String, reason: String, ingestor: Ingestor, log: Logger, lookAgainLater: (String, Double) -> Void) {
        let shown = FileNaming.printable(relative)
        do {
            switch try ingestor.park(relative, reason: reason, now: Daemon.now()) {
            case .rejected(let destination, _): log.error("rejected \(shown) → \(FileNaming.printable(destination))")
            case .changed: lookAgainLater(relative, Daemon.now())
            default: break
            }
        } catch {
            log.error("cannot move \(shown) to rejected/: \(error); it stays in the inbox and is tried again once it changes")
        }
    }
}
