import Catalog
import ControlProtocol
import Foundation
import Glibc
import Logging
import Scheduling
import ServiceLifecycle
import Training
import UnixSignals
import UnixSocket

/// `ctd run`: the watched inbox → cache → training → outbox pipeline, wired together. Work lives
/// in the catalog as persistent jobs; each stage is a worker with its own thread, run as a
/// `Service` in one `ServiceGroup`:
/// - `WatchWorker`: inotify, settling, rescans, the watchdog;
/// - `ingest.workers` × `IngestWorker` (a bounded pool: a flood of files waits in the catalog, not in memory);
/// - `PredictWorker`, and `TrainWorker` at lower CPU priority. They share the CPU through a
///   `ComputeGate`: a queued prediction goes before the next training step;
/// - the `ControlServer`, answering `ctctl` through `ControlCommands`.
/// Each queue has a `Doorbell`: work is picked up as soon as it is added.
public final class Daemon: @unchecked Sendable {
    public let folders: StateFolders
    public let catalog: Catalog
    let log: Logger
    public let startedAt = Date()
    private let settings: CurrentConfig
    private let loader: ConfigLoader?
    /// Held for the daemon's life: a second daemon on the same state folder is refused.
    private let folderLock: OwnedDescriptor
    let notifier = SystemdNotifier()
    let gate = ComputeGate()
    let metrics = Metrics()
    let heartbeats = Heartbeats()
    let room: RoomKeeper
    let model: ActiveModel
    let watcher: WatchWorker
    let ingestors: [IngestWorker]
    let predictor: PredictWorker
    let trainer: TrainWorker
    let reloader: Reloader
    let commands: ControlCommands

    private let lock = NSLock()
    private var group: ServiceGroup?
    private var executor: ThreadExecutor?
    private var stopRequested = false

    public init(config: DaemonConfig, loader: ConfigLoader? = nil, logger: Logger,
                freeSpace: @escaping @Sendable (String) -> Int64? = RoomKeeper.fileSystemFreeBytes) throws {
        let folders = config.folders
        (self.folders, self.loader, log) = (folders, loader, logger)
        settings = CurrentConfig(config)
        folderLock = try Self.prepare(folders)
        catalog = try Catalog(path: folders.catalog)

        let (ingestBell, predictBell, trainBell, paused) = (Doorbell(), Doorbell(), Doorbell(), Flag())
        let settings = self.settings, catalog = self.catalog, log = logger, heartbeats = self.heartbeats, gate = self.gate
        let room = RoomKeeper(root: folders.root, catalog: catalog, log: log, freeSpace: freeSpace, reserve: { settings.value.minFreeBytes })
        let jobs = JobRunner(catalog: catalog, room: room, log: log)
        let cache = ScanCache(catalog: catalog, folder: folders.cache)
        let model = ActiveModel(log: log) { predictBell.ring() }
        let predictor = PredictWorker(folders: folders, catalog: catalog, config: settings, room: room, jobs: jobs, gate: gate, cache: cache,
                                      model: model, metrics: metrics, log: log, heartbeats: heartbeats, doorbell: predictBell)
        let trainer = TrainWorker(folders: folders, catalog: catalog, config: settings, room: room, jobs: jobs, gate: gate, cache: cache,
                                  model: model, tracker: TrainingTracker(), log: log, heartbeats: heartbeats, doorbell: trainBell,
                                  isPaused: { paused.isRaised })
        let watcher = WatchWorker(folders: folders, catalog: catalog, config: settings, room: room, log: log, notifier: notifier,
                                  heartbeats: heartbeats, ingest: ingestBell, paused: paused) {
            StatusLine(catalog: catalog, room: room, model: model, trainer: trainer).text
        }
        room.whenSpaceReturns {
            watcher.requestRescan()  // files the watcher could not queue meanwhile
            for bell in [ingestBell, predictBell, trainBell] { bell.ring() }
        }
        ingestors = (0..<config.ingestWorkers).map { index in
            IngestWorker(name: "ingest-\(index)", folders: folders, catalog: catalog, config: settings, room: room, jobs: jobs,
                         gate: gate, cache: cache, log: log, heartbeats: heartbeats, doorbell: ingestBell,
                         arrived: { predictBell.ring(); trainBell.ring() }, predictNow: { predictor.predictNow(fileID: $0) },
                         lookAgainLater: { watcher.lookAgainLater($0, at: $1) })
        }
        (self.room, self.model, self.predictor, self.trainer, self.watcher) = (room, model, predictor, trainer, watcher)
        let reloader = Reloader(loader: loader, settings: settings, log: log, notifier: notifier, trainer: trainer) {
            StatusLine(catalog: catalog, room: room, model: model, trainer: trainer).text
        }
        self.reloader = reloader
        commands = ControlCommands(folders: folders, catalog: catalog, currentConfig: settings, configFile: loader?.file, startedAt: startedAt,
                                   log: log, metrics: metrics, gate: gate, cache: cache, room: room, model: model, watcher: watcher,
                                   trainer: trainer, reload: { await reloader.reload() }, isStopping: { watcher.isStopping })
    }

    /// Creates the state folders with the modes the daemon's group needs, and locks them.
    private static func prepare(_ folders: StateFolders) throws -> OwnedDescriptor {
        for folder in folders.all {
            do {
                try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
            } catch {
                throw CatalogError(path: folder, reason: "cannot create the state folder: \(error.localizedDescription)")
            }
        }
        // People in the daemon's group drop scans and collect reports (systemd's UMask=0027
        // would otherwise leave the inbox writable by the daemon alone).
        for folder in [folders.inbox, folders.inbox + "/CT-0", folders.inbox + "/CT-23"] { chmod(folder, 0o2770) }
        chmod(folders.outbox, 0o2750)
        let lock = OwnedDescriptor(adopting: open(folders.lock, O_RDWR | O_CREAT | O_CLOEXEC, 0o640))
        guard lock.raw >= 0, flock(lock.raw, LOCK_EX | LOCK_NB) == 0 else {
            throw DaemonError(reason: "\(folders.root): another ctd is using this state folder; stop it first")
        }
        return lock
    }

    public var configFile: String? { loader?.file }
    public var config: DaemonConfig { settings.value }
    static func now() -> Double { Date().timeIntervalSince1970 }

    // MARK: Life cycle

    /// Runs until `stop()` (or, with `shutdownSignals`, until one arrives): recovers what a
    /// previous process left, then runs every worker as a service. Returns once all have finished;
    /// throws when one failed (the watcher cannot watch, the socket cannot listen).
    public func serve(shutdownSignals: [UnixSignal] = [], reloadOnHangup: Bool = false) async throws {
        try Recovery(folders: folders, catalog: catalog, config: config, log: log, lookAgainLater: watcher.lookAgainLater).run()
        if let run = try catalog.activeRun() { model.load(run) }
        let commands = self.commands
        let server = try ControlServer(settings: config.control, path: config.socketPath(), log: log) { request, peer, descriptor, send in
            commands.handle(request, peer: peer, descriptor: descriptor, send: send)
        }
        log.info("control socket: \(server.path)")
        // A shutdown stops them in reverse: intake first, then the stages behind it, the socket last.
        let workers: [any Worker] = [server, trainer, predictor] + ingestors + [watcher]
        var services = workers.map {
            ServiceGroupConfiguration.ServiceConfiguration(service: WorkerService(worker: $0), successTerminationBehavior: .gracefullyShutdownGroup,
                                                           failureTerminationBehavior: .gracefullyShutdownGroup, serviceName: $0.name)
        }
        if reloadOnHangup {
            services.insert(.init(service: HangupService { [reloader] in await reloader.reload() }, successTerminationBehavior: .ignore), at: 0)
        }
        var quiet = log
        quiet.logLevel = .notice
        let group = ServiceGroup(configuration: ServiceGroupConfiguration(services: services, gracefulShutdownSignals: shutdownSignals, logger: quiet))
        if lock.withLock({ self.group = group; return stopRequested }) { await group.triggerGracefulShutdown() }
        do {
            try await group.run()
        } catch {
            log.critical("stopping: \(error)")
            throw error
        }
        flock(folderLock.raw, LOCK_UN)
        log.info("stopped")
    }

    /// `serve()` on the calling thread (tests, benchmarks): the service group runs on this
    /// thread alone, whatever else holds Swift's shared pool.
    public func run() throws {
        let executor = ThreadExecutor()
        let failure = Failure()
        lock.withLock { self.executor = executor }
        Task.detached(executorPreference: executor) {
            do { try await self.serve() } catch { failure.error = error }
            executor.finish()
        }
        executor.run()
        if let error = failure.error { throw error }
    }

    private final class Failure: @unchecked Sendable { var error: (any Error)? }

    /// Asks every worker to finish; a training run is suspended at its next step and resumes on
    /// the next start.
    public func stop() {
        guard let (group, executor) = lock.withLock({ () -> (ServiceGroup, ThreadExecutor?)? in
            stopRequested = true
            return group.map { ($0, executor) }
        }) else { return }
        Task.detached(executorPreference: executor) { await group.triggerGracefulShutdown() }
    }

    /// Reads the configuration again (SIGHUP). Settings that need a restart are reported and kept.
    public func reload() async { await reloader.reload() }

    // MARK: What the workers show

    public var isPaused: Bool { watcher.isPaused }
    public func setPaused(_ value: Bool) {
        watcher.setPaused(value)
        trainer.wake()
    }
    public var isWatching: Bool { watcher.isWatching }
    public var isTraining: Bool { trainer.isTraining }
    public var activeRunID: String? { model.runID }
    /// Starts a training run now (if there is enough data), without waiting for the schedule.
    public func requestRetrain() { trainer.requestRetrain() }
    /// Cancels the training run in progress; its id, or nil.
    public func cancelTraining() -> String? { trainer.cancel() }

    public func statusLine() -> String { StatusLine(catalog: catalog, room: room, model: model, trainer: trainer).text }
}

/// The one line systemd shows for the daemon (`systemctl status`).
struct StatusLine {
    let catalog: Catalog
    let room: RoomKeeper
    let model: ActiveModel
    let trainer: TrainWorker

    var text: String {
        let labelled = (try? catalog.scanCounts())?.labelledCached ?? 0
        let queued = (try? catalog.jobCount(kind: .ingest, state: .queued)) ?? 0
        let waiting = (try? catalog.jobCount(kind: .predict, state: .queued)) ?? 0
        let space = room.problem.map { ", \($0)" } ?? ""
        return "\(labelled) labelled scans, \(queued) to ingest, \(waiting) predictions waiting, model \(model.runID ?? "none yet")\(trainer.isTraining ? ", training" : "")\(space)"
    }
}

/// A problem of the daemon's own state, in one sentence.
public struct DaemonError: Error, CustomStringConvertible {
    public let reason: String
    /// The errno behind it, when a system call failed (so a full disk is known by kind).
    public let code: Int32?
    public init(reason: String, code: Int32? = nil) { (self.reason, self.code) = (reason, code) }
    public var description: String { reason }
}
