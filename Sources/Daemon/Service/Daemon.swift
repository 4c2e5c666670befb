import Engine
import AtomicFile
import Catalog
import ContentHash
import ControlProtocol
import Foundation
import Glibc
import Logging
import NIfTI
import Preprocess
import Scheduling
import Training

/// `ctd run`: the watched inbox → cache → training → outbox pipeline. Work lives in the catalog
/// as persistent jobs; a few threads take it from there:
/// - the watcher (the thread that calls `run`): inotify, settling, rescans, the watchdog;
/// - `ingest.workers` ingest threads (a bounded pool: a flood of files waits in the catalog, not in memory);
/// - one prediction thread, and one training thread at lower CPU priority. They share the CPU
///   through a `ComputeGate`: a queued prediction goes before the next training step.
public final class Daemon: @unchecked Sendable {
    public let folders: StateFolders
    public let catalog: Catalog
    let log: Logger
    let notifier = SystemdNotifier()
    let gate = ComputeGate()
    let metrics = Metrics()
    let tracker = TrainingTracker()
    /// Held for the daemon's life: a second daemon on the same state folder is refused.
    private let folderLock: Int32
    private let loader: ConfigLoader?
    private let state = NSCondition()
    private var currentConfig: DaemonConfig
    private var stopping = false
    private var retrainRequested = false
    private var trainingReasons: [String: String] = [:]

    /// The model that answers requests.
    var activeModel: (runID: String, predictor: Predictor)? { state.withLock { active } }
    private var training: CancellationFlag?
    private var paused = false
    private var rescanRequested = false
    private var watching = false
    private var active: (runID: String, predictor: Predictor)?
    public let startedAt = Date()
    /// Whether there is room in the state folder to work.
    private(set) var room: RoomKeeper!
    /// Inbox files to look at again at a time (copies in progress; files that changed during ingest).
    private var lookAgain: [String: Double] = [:]

    public init(config: DaemonConfig, loader: ConfigLoader? = nil, logger: Logger,
                freeSpace: @escaping @Sendable (String) -> Int64? = RoomKeeper.fileSystemFreeBytes) throws {
        currentConfig = config
        self.loader = loader
        log = logger
        folders = config.folders
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
        folderLock = open(folders.lock, O_RDWR | O_CREAT | O_CLOEXEC, 0o640)
        guard folderLock >= 0, flock(folderLock, LOCK_EX | LOCK_NB) == 0 else {
            if folderLock >= 0 { close(folderLock) }
            throw DaemonError(reason: "\(folders.root): another ctd is using this state folder; stop it first")
        }
        catalog = try Catalog(path: folders.catalog)
        room = RoomKeeper(root: folders.root, catalog: catalog, log: logger, freeSpace: freeSpace, reserve: { [unowned self] in config.minFreeBytes }) {
            [unowned self] in
            state.withLock { rescanRequested = true }  // files the watcher could not queue meanwhile
            wakeAll()
        }
    }

    deinit { close(folderLock) }

    public var configFile: String? { loader?.file }

    /// Watching and scheduled training stop while paused; requests already queued are still answered.
    public var isPaused: Bool { state.withLock { paused } }

    public func setPaused(_ value: Bool) {
        state.withLock {
            if paused && !value { rescanRequested = true }
            paused = value
        }
        wakeAll()
    }

    /// Cancels the training run in progress (it ends as cancelled, not promoted); its id, or nil.
    public func cancelTraining() -> String? {
        state.withLock { () -> String? in
            guard let flag = training else { return nil }
            flag.cancel()
            return tracker.info?.runID ?? "the current run"
        }
    }

    public var config: DaemonConfig { state.withLock { currentConfig } }
    var isStopping: Bool { state.withLock { stopping } }

    static func now() -> Double { Date().timeIntervalSince1970 }

    // MARK: Life cycle

    /// Runs until `stop()`: recovers what a previous process left, starts the workers, then
    /// watches the inbox on the calling thread. Returns once every worker has finished.
    public func run() throws {
        try recover()
        let config = self.config
        let workers = DispatchGroup()
        func start(_ name: String, _ body: @escaping @Sendable () -> Void) {
            workers.enter()
            let thread = Thread { body(); workers.leave() }
            thread.name = name
            thread.start()
        }
        let server = try ControlServer(settings: config.control, path: config.socketPath(), log: log) { request, peer, descriptor, send in
            self.handle(request, peer: peer, descriptor: descriptor, send: send)
        }
        log.info("control socket: \(server.path)")
        start("control") { server.run() }
        for index in 0..<config.ingestWorkers { start("ingest-\(index)") { self.ingestLoop() } }
        start("predict") { self.predictLoop() }
        start("train") { self.trainLoop() }
        do {
            try watchLoop()
        } catch {
            log.critical("watching stopped: \(error)")
            stop()
            server.stop()
            workers.wait()
            throw error
        }
        // Clients waiting on a long command are told the daemon is stopping; then all threads end.
        server.stop()
        workers.wait()
        flock(folderLock, LOCK_UN)
        log.info("stopped")
    }

    /// Asks every loop to finish; a training run is suspended at its next step and resumes on
    /// the next start.
    public func stop() {
        notifier.stopping()
        state.withLock {
            stopping = true
            training?.suspend()
            state.broadcast()
        }
    }

    /// Reads the configuration again (SIGHUP). Settings that need a restart are reported and kept.
    public func reload() async {
        guard let loader else { return }
        notifier.reloading()
        do {
            var next = try await loader.load()
            let current = config
            let changed = next.changedKeys(from: current)
            let needRestart = changed.filter { key in DaemonConfig.restartKeys.contains(key) }
            if !needRestart.isEmpty {
                log.warning("reload: \(needRestart.joined(separator: ", ")) change only after a restart; keeping the running values")
                next.stateDirectory = current.stateDirectory
                next.training.width = current.training.width
                next.training.height = current.training.height
                next.training.depth = current.training.depth
                next.ingestWorkers = current.ingestWorkers
            }
            state.withLock {
                currentConfig = next
                state.broadcast()
            }
            log.notice("reloaded the configuration: \(changed.isEmpty ? "nothing changed" : "changed " + changed.joined(separator: ", "))")
        } catch {
            log.error("reload failed, keeping the running configuration: \(error)")
        }
        notifier.reloaded(status: statusLine())
    }

    /// Starts a training run now (if there is enough data), without waiting for the schedule.
    public func requestRetrain() {
        state.withLock { retrainRequested = true }
        wakeAll()
    }

    /// When each worker last showed progress; the watchdog is fed only while all of them do.
    private var heartbeats: [String: Double] = [:]
    /// A worker silent for longer than this is stuck (the unit's WatchdogSec is 120 s).
    static let stuckAfter = 90.0

    func beat(_ worker: String) {
        let now = Self.now()
        state.withLock { heartbeats[worker] = now }
    }

    /// Workers that have shown no progress for `stuckAfter` seconds.
    func stuckWorkers(now: Double) -> [String] {
        state.withLock { heartbeats.filter { now - $0.value > Self.stuckAfter }.map(\.key).sorted() }
    }

    /// Counts wake-ups, so a worker that looked for work and found none sleeps only if nothing
    /// was added meanwhile (a broadcast between its look and its wait would otherwise be lost).
    private var wakeups = 0

    private func wakeAll() {
        state.withLock {
            wakeups += 1
            state.broadcast()
        }
    }

    private var wakeupCount: Int { state.withLock { wakeups } }

    /// Waits up to `seconds` for a wake-up after `seen`; false once stopping.
    private func pause(_ seconds: Double, since seen: Int) -> Bool {
        state.withLock {
            if stopping { return false }
            if wakeups == seen { _ = state.wait(until: Date(timeIntervalSinceNow: seconds)) }
            return !stopping
        }
    }

    // MARK: Recovery

    /// Finishes what a process that died left half done: moves recorded but unmoved files,
    /// retries interrupted jobs (parking those that keep failing), drops stale temporary files
    /// and cache entries made with other preprocessing parameters.
    func recover() throws {
        let config = self.config
        let now = Self.now()
        let ingestor = makeIngestor(config)
        for file in try catalog.unmovedFiles() {
            do {
                if try ingestor.settleUnmoved(file) {
                    log.notice("\(shown(file.inboxPath)) had been moved to \(shown(file.destination)) when the last stop cut in")
                } else {
                    log.notice("\(shown(file.inboxPath)) was recorded but not moved when the last stop cut in: it is read again")
                }
            } catch {
                log.error("cannot settle the unfinished move of \(shown(file.inboxPath)): \(error); it is tried again on the next start")
            }
        }
        for job in try catalog.recoverInterrupted(maxAttempts: config.maxAttempts, now: now) {
            log.error("parked \(job.kind.rawValue) job for \(shown(job.subject)): \(job.error ?? "")")
            if job.kind == .ingest { rejectParked(job.subject, reason: job.error ?? "interrupted too often", ingestor: ingestor) }
        }
        for folder in [folders.cache, folders.outbox, folders.models, folders.rejected] { Self.removeTemporaryFiles(under: folder) }
        let key = config.training.preprocessing.key
        let stale = try catalog.removeCacheEntries(otherThan: key)
        for entry in stale { unlink(entry.path) }
        if !stale.isEmpty { log.notice("preprocessing parameters changed: dropped \(stale.count) cache tensors; rebuilding from the archive") }
        if let run = try catalog.activeRun() { loadModel(run) }
    }

    func makeIngestor(_ config: DaemonConfig) -> Ingestor {
        Ingestor(folders: folders, catalog: catalog, parameters: config.training.preprocessing,
                 reader: NIfTIReader(limits: config.limits), incompleteGrace: config.incompleteGrace)
    }

    /// Scans labelled both ways whose wrong copy was removed from archive/ are used again.
    func resolveLabelConflicts() throws {
        for scan in try catalog.resolveLabelConflicts(now: Self.now(), exists: { access($0, F_OK) == 0 }) {
            log.notice("scan \(scan.id) (\(shown(scan.name))): its archived copies now agree on \(InboxPath.labelName(scan.label ?? 0)); it is used for training again")
        }
    }

    /// A name from the inbox, made safe for one log line.
    func shown(_ path: String) -> String { FileNaming.printable(path) }

    /// An ingest job that failed too often: its file goes to rejected/ with the reason. When even
    /// that fails, the file stays in the inbox and is not tried again until it changes.
    private func rejectParked(_ relative: String, reason: String, ingestor: Ingestor) {
        do {
            switch try ingestor.park(relative, reason: reason, now: Self.now()) {
            case .rejected(let destination, _): log.error("rejected \(shown(relative)) → \(shown(destination))")
            case .changed: lookAgainLater(relative, at: Self.now())
            default: break
            }
        } catch {
            log.error("cannot move \(shown(relative)) to rejected/: \(error); it stays in the inbox and is tried again once it changes")
        }
    }

    /// Has the watcher look at an inbox file again at `time`, as a new arrival.
    private func lookAgainLater(_ relative: String, at time: Double) {
        state.withLock { lookAgain[relative] = min(lookAgain[relative] ?? time, time) }
    }

    static func removeTemporaryFiles(under folder: String) {
        guard let walker = FileManager.default.enumerator(atPath: folder) else { return }
        while let relative = walker.nextObject() as? String {
            if relative.hasSuffix(".partial") { unlink(folder + "/" + relative) }
        }
    }

    // MARK: Watching

    private func watchLoop() throws {
        let watcher = try InboxWatcher(root: folders.inbox)
        var settling = Settling(settleSeconds: config.settleSeconds)
        func observe(_ events: [InboxWatcher.Event]) throws {
            let now = Self.now()
            for event in events {
                switch event {
                case .file(let relative):
                    guard InboxPath.meaning(of: relative) != .ignored else { continue }
                    if let observation = Self.observation(folders.inbox + "/" + relative) { settling.observe(relative, observation, now: now) }
                case .gone(let relative):
                    settling.forget(relative)
                case .overflow:
                    log.warning("the inotify queue overflowed: rescanning the inbox")
                    try observe(watcher.watchTree())
                }
            }
        }
        try observe(watcher.watchTree())
        log.info("watching \(folders.inbox) (\(watcher.watchedFolders) folders)")
        state.withLock { watching = true }
        notifier.ready(status: statusLine())
        var lastRescan = Self.now(), lastPing = 0.0, lastStatus = 0.0
        let watchdog = notifier.watchdogInterval
        while !isStopping {
            let config = self.config
            settling = settling.settleSeconds == config.settleSeconds ? settling : Settling(settleSeconds: config.settleSeconds)
            let wait = settling.nextDue().map { max(0.01, $0 - Self.now()) } ?? 1
            try observe(watcher.next(timeout: min(wait, 1)))
            let now = Self.now()
            let (pausedNow, rescanNow) = state.withLock { () -> (Bool, Bool) in
                defer { rescanRequested = false }
                return (paused, rescanRequested)
            }
            if rescanNow {
                try observe(watcher.watchTree())
                lastRescan = now
            }
            let again = state.withLock { () -> [String] in
                let due = lookAgain.filter { $0.value <= now }.map(\.key)
                for relative in due { lookAgain[relative] = nil }
                return due
            }
            for relative in again {
                if let observation = Self.observation(folders.inbox + "/" + relative) { settling.observe(relative, observation, now: now) }
            }
            for relative in pausedNow ? [] : settling.due(now: now) {
                guard settling.confirm(relative, now: Self.observation(folders.inbox + "/" + relative), at: now) else { continue }
                do {
                    // A file parked in place (its move to rejected/ failed too) waits until it changes;
                    // ctime, because a copy that keeps the time stamp (cp -p, rsync -a) still sets it.
                    if let parked = try catalog.parkedAt(.ingest, subject: relative),
                       let changed = Self.statusChanged(folders.inbox + "/" + relative), parked >= changed { continue }
                    if try catalog.enqueue(.ingest, subject: relative, now: now) { wakeAll() }
                } catch {
                    // The file stays in the inbox; a rescan within 30 s (or once disk space is back) finds it again.
                    let diskFull = room.isShort
                    log.log(level: diskFull ? .debug : .error, "cannot queue \(shown(relative)) for ingest: \(error); it stays in the inbox and is picked up again")
                    lastRescan = min(lastRescan, now - config.rescanSeconds + 30)
                }
            }
            if !pausedNow, now - lastRescan >= config.rescanSeconds {
                // Network file systems deliver no events: a periodic scan catches what they miss.
                try observe(watcher.watchTree())
                lastRescan = now
            }
            if let watchdog, now - lastPing >= watchdog {
                // Fed only while every worker shows progress: a stuck one gets the daemon restarted.
                let stuck = stuckWorkers(now: now)
                if stuck.isEmpty {
                    notifier.watchdog()
                } else {
                    log.critical("no progress for \(Int(Self.stuckAfter)) s in \(stuck.joined(separator: ", ")): not feeding the watchdog, so systemd restarts ctd")
                }
                lastPing = now
            }
            if now - lastStatus >= 5 {
                notifier.status(statusLine())
                lastStatus = now
            }
        }
    }

    /// When the file's inode last changed (written, renamed, created), which no copy tool can set.
    static func statusChanged(_ path: String) -> Double? {
        var info = stat()
        guard lstat(path, &info) == 0 else { return nil }
        return Double(info.st_ctim.tv_sec) + Double(info.st_ctim.tv_nsec) / 1e9
    }

    static func observation(_ path: String) -> Settling.Observation? {
        var info = stat()
        guard lstat(path, &info) == 0, (info.st_mode & S_IFMT) == S_IFREG else { return nil }
        return Settling.Observation(size: Int64(info.st_size),
                                    modified: Double(info.st_mtim.tv_sec) + Double(info.st_mtim.tv_nsec) / 1e9)
    }

    // MARK: Ingest

    private func ingestLoop() {
        while !isStopping {
            let config = self.config
            let seen = wakeupCount
            beat(Thread.current.name ?? "ingest")
            guard hasRoom() else { _ = pause(5, since: seen); continue }
            do {
                if let job = try catalog.claimNext(.ingest, now: Self.now()) {
                    ingest(job, config: config)
                } else if try !rebuildOneCacheEntry(config: config) {
                    _ = pause(1, since: seen)
                }
            } catch {
                log.error("ingest: \(error)")
                _ = pause(1, since: seen)
            }
        }
    }

    private func ingest(_ job: JobRecord, config: DaemonConfig) {
        let ingestor = makeIngestor(config)
        let subject = shown(job.subject)
        var outcome: Ingestor.Outcome?
        let end = runJob(job, maxAttempts: config.maxAttempts) { () throws -> Finish in
            // A prediction request is what a person waits for: it goes before training steps, and
            // is answered in the same turn (one wait for the running step, not two).
            outcome = try InboxPath.meaning(of: job.subject) == .predictionRequest
                ? gate.urgent {
                    let outcome = try ingestor.ingest(job.subject, arrived: job.createdAt)
                    if case .archived(let fileID, _, _, true) = outcome { predictNow(fileID: fileID) }
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
            rejectParked(job.subject, reason: "ingest failed \(config.maxAttempts) times: \(error)", ingestor: ingestor)
        case .released, .waitingForSpace:
            break
        }
    }

    private func report(_ outcome: Ingestor.Outcome, of job: JobRecord, config: DaemonConfig) {
        let subject = shown(job.subject)
        switch outcome {
        case .archived(_, let destination, let duplicate, _):
            log.info("ingested \(subject)\(duplicate ? " (already known: same content as an earlier scan)" : "") → \(shown(destination))")
            wakeAll()
        case .conflicting(_, let destination, let earlier):
            log.warning("""
                \(subject) has the same content as a scan labelled \(InboxPath.labelName(earlier)) but is labelled \
                \(InboxPath.labelName(1 - earlier)): the scan is left out of training until the wrong copy is removed \
                from archive/ (ctctl scan \(subject) lists both) → \(shown(destination))
                """)
            wakeAll()
        case .rejected(let destination, let reason):
            log.error("rejected \(subject): \(FileNaming.printable(reason)) → \(shown(destination))")
        case .gone:
            log.notice("\(subject) went away before it was read")
        case .changed:
            log.notice("\(subject) changed while it was read: looking at it again as a new arrival")
            lookAgainLater(job.subject, at: Self.now())
        case .incomplete(let until):
            log.notice("\(subject) ends before its header says: taken for a copy in progress, looked at again when it changes (rejected as truncated if still so \(Int(config.incompleteGrace)) s after its last change)")
            lookAgainLater(job.subject, at: until)
        case .ignored:
            break
        }
    }

    /// Rebuilds one cache tensor that the current preprocessing parameters lack, from the
    /// archived original. False when there is nothing to rebuild.
    private func rebuildOneCacheEntry(config: DaemonConfig) throws -> Bool {
        let parameters = config.training.preprocessing
        guard let (scan, original) = try catalog.scansMissingCache(key: parameters.key).first else { return false }
        do {
            _ = try rebuildCacheTensor(scan: scan, cache: TensorCache(folder: folders.cache, parameters: parameters), limits: config.limits, original: original)
        } catch {
            log.error("cannot rebuild the cache tensor of \(scan.name) from \(original): \(error)")
            throw error
        }
        return true
    }

    // MARK: Prediction

    /// Answers a request right after its ingest, when a model is active (the caller holds the gate).
    private func predictNow(fileID: Int64) {
        guard let model = state.withLock({ active }), hasRoom() else { return }
        do {
            guard let job = try catalog.claim(.predict, subject: String(fileID), now: Self.now()) else { return }
            // A failure here leaves it to the prediction thread.
            logPrediction(runJob(job, maxAttempts: config.maxAttempts) { try predict(job, model: model, holdingGate: true); return .complete }, of: job)
        } catch {
            log.error("predict: \(error)")
        }
    }

    private func predictLoop() {
        while !isStopping {
            let seen = wakeupCount
            beat("predict")
            guard let model = state.withLock({ active }) else { _ = pause(1, since: seen); continue }
            guard hasRoom() else { _ = pause(5, since: seen); continue }
            do {
                guard let job = try catalog.claimNext(.predict, now: Self.now()) else { _ = pause(1, since: seen); continue }
                logPrediction(runJob(job, maxAttempts: config.maxAttempts) { try predict(job, model: model); return .complete }, of: job)
            } catch {
                log.error("predict: \(error)")
                _ = pause(1, since: seen)
            }
        }
    }

    private func logPrediction(_ end: JobEnd, of job: JobRecord) {
        switch end {
        case .retrying(let error): log.error("prediction for file \(job.subject) failed, will retry: \(error)")
        case .parked(let error): log.error("prediction for file \(job.subject) failed for the last time: \(error)")
        case .done, .released, .waitingForSpace: break
        }
    }

    private func predict(_ job: JobRecord, model: (runID: String, predictor: Predictor), holdingGate: Bool = false) throws {
        let config = self.config
        guard let fileID = Int64(job.subject), let file = try catalog.file(id: fileID), let scan = try catalog.scan(id: file.scanID) else {
            throw DaemonError(reason: "job \(job.id) names no known file")
        }
        let grid = try cachedGrid(scan: scan, parameters: model.predictor.preprocessing, limits: config.limits, original: file.destination)
        let start = DispatchTime.now()
        let (prediction, saliency) = try holdingGate ? model.predictor.predictExplained(grid, file: file.inboxPath)
            : gate.urgent { try model.predictor.predictExplained(grid, file: file.inboxPath) }
        let predictMilliseconds = Double(DispatchTime.now().uptimeNanoseconds - start.uptimeNanoseconds) / 1e6
        let run = try catalog.run(id: model.runID)
        let decision = PredictionReport.decision(probabilityAbnormal: prediction.probabilityAbnormal, threshold: config.threshold)
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
        let now = Self.now()
        let report = PredictionReport(
            fileID: file.id, file: file.inboxPath, hash: scan.hash, scan: JSONValue.object(json: scan.facts),
            model: .init(runID: model.runID, valLoss: run?.valLoss, valAcc: run?.valAcc, valAUC: run?.valAUC,
                         trainedAt: run?.endedAt.map(PredictionReport.timestamp), precision: model.predictor.precision.rawValue,
                         cpuISA: InstructionSet.effective.name, calibration: model.predictor.calibrationReport),
            probabilityAbnormal: prediction.probabilityAbnormal, probabilityNormal: prediction.probabilityNormal,
            logit: prediction.logit, calibrated: prediction.calibrated, threshold: config.threshold, decision: decision, sentences: prediction.sentences, warnings: warnings,
            timings: .init(secondsSinceArrival: now - file.arrivedAt, predictMilliseconds: predictMilliseconds),
            saliency: SaliencySummary(saliency),
            arrivedAt: PredictionReport.timestamp(file.arrivedAt), reportedAt: PredictionReport.timestamp(now),
            picture: (picture as NSString).lastPathComponent)
        try AtomicFile.write(try report.json(), to: stem + ".json")
        try catalog.recordPrediction(fileID: file.id, scanID: scan.id, runID: model.runID, probabilityAbnormal: prediction.probabilityAbnormal,
                                     decision: decision, report: stem + ".json", now: now)
        metrics.observeReport(latency: Self.now() - file.arrivedAt)
        log.info("\(file.inboxPath): \(decision) (p_abnormal \(String(format: "%.3f", prediction.probabilityAbnormal))) → \(stem).json")
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

    /// The scan's preprocessed tensor from the cache, rebuilt from the original when missing or damaged.
    /// - Parameter verify: hash the file against the catalog's checksum; false for a tensor checked
    ///   earlier in the same run and read again for a training batch (4 MB need not be hashed twice).
    func cachedGrid(scan: ScanRecord, parameters: PreprocessParameters, limits: ReadLimits, original: String,
                    verify: Bool = true) throws -> VoxelGrid {
        let cache = TensorCache(folder: folders.cache, parameters: parameters)
        if let entry = try catalog.cacheEntry(scanID: scan.id, key: parameters.key),
           let grid = try? cache.read(entry.path, checksum: verify ? entry.checksum : nil).get() {
            return grid
        }
        return try rebuildCacheTensor(scan: scan, cache: cache, limits: limits, original: original)
    }

    /// Preprocesses the archived original again and records the new cache tensor.
    private func rebuildCacheTensor(scan: ScanRecord, cache: TensorCache, limits: ReadLimits, original: String) throws -> VoxelGrid {
        let grid = Preprocessor(cache.parameters).run(try NIfTIReader(limits: limits).read(path: original))
        let tensor = try cache.write(grid, hash: scan.hash)
        try catalog.setCacheEntry(scanID: scan.id, key: cache.parameters.key, path: tensor.path, checksum: tensor.checksum, now: Self.now())
        return grid
    }

    /// Loads a run's best checkpoint as the model that answers requests.
    func loadModel(_ run: RunRecord) {
        do {
            let predictor = try Predictor(model: run.folder)
            state.withLock { active = (run.id, predictor) }
            wakeAll()
            log.notice("active model: \(run.id) (val_acc \(run.valAcc.map { String(format: "%.3f", $0) } ?? "?"))")
        } catch {
            log.error("cannot load the active model \(run.id) from \(run.folder): \(error)")
        }
    }

    public var activeRunID: String? { state.withLock { active?.runID } }
    /// True once the inbox is watched.
    public var isWatching: Bool { state.withLock { watching } }
    public var isTraining: Bool { state.withLock { training != nil } }

    // MARK: Training

    private func trainLoop() {
        ProcessPriority.lower(by: config.trainingNice)
        while !isStopping {
            let seen = wakeupCount
            beat("train")
            guard hasRoom() else { _ = pause(5, since: seen); continue }
            do {
                if let job = try catalog.claimNext(.train, now: Self.now()) {
                    try train(job)
                } else if let reason = try retrainDecision() {
                    let runID = Trainer.newRunID()
                    state.withLock { trainingReasons[runID] = reason }
                    try catalog.enqueue(.train, subject: runID, now: Self.now())
                    log.notice("starting training run \(runID): \(reason)")
                    continue
                } else {
                    _ = pause(5, since: seen)
                }
            } catch {
                log.error("training: \(error)")
                _ = pause(5, since: seen)
            }
        }
    }

    /// Why to start a run now, or nil to wait.
    private func retrainDecision() throws -> String? {
        let requested = state.withLock { () -> Bool in
            defer { retrainRequested = false }
            return retrainRequested
        }
        switch try retrainPolicyDecision(requested: requested) {
        case .start(let reason): return reason
        case .wait(let reason):
            if requested { log.warning("retrain requested, but \(reason)") }
            return nil
        }
    }

    /// What the retrain policy says now, given the catalog (and a request, if any).
    func retrainPolicyDecision(requested: Bool) throws -> RetrainPolicy.Decision {
        let config = self.config
        try resolveLabelConflicts()
        let labelled = try catalog.labelledScans(key: config.training.preprocessing.key)
        let lastStart = try catalog.lastRunStart()
        let facts = RetrainPolicy.Facts(now: Self.now(), requested: requested, trainingNow: isTraining, paused: isPaused, lastRunStart: lastStart,
                                        newLabels: try catalog.labelledCount(since: lastStart),
                                        normal: labelled.filter { $0.scan.label == 0 }.count,
                                        abnormal: labelled.filter { $0.scan.label == 1 }.count,
                                        validation: labelled.filter { ValidationSplit.isValidation(hash: $0.scan.hash, fraction: config.training.validationFraction) }.count,
                                        batchSize: config.training.batchSize)
        return config.retrain.decide(facts)
    }

    func trainingReason(_ runID: String) -> String {
        state.withLock { trainingReasons.removeValue(forKey: runID) } ?? "resumed after a restart"
    }

    private func train(_ job: JobRecord) throws {
        let config = self.config
        let cancellation = CancellationFlag()
        let proceed = state.withLock { () -> Bool in
            if stopping { return false }
            training = cancellation
            return true
        }
        guard proceed else { try catalog.release(jobID: job.id, now: Self.now()); return }
        defer { state.withLock { training = nil } }
        var ended: RunRecord?
        let end = runJob(job, maxAttempts: TrainingJob.maxAttempts) { () throws -> Finish in
            switch try TrainingJob(daemon: self, job: job, config: config, cancellation: cancellation).run() {
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
            if let ended, ended.promoted { loadModel(ended) }
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

    // MARK: Status

    public func statusLine() -> String {
        let labelled = (try? catalog.scanCounts())?.labelledCached ?? 0
        let queued = (try? catalog.jobCount(kind: .ingest, state: .queued)) ?? 0
        let waiting = (try? catalog.jobCount(kind: .predict, state: .queued)) ?? 0
        let model = activeRunID ?? "none yet"
        let trainingNow = state.withLock { training != nil }
        let space = room.problem.map { ", \($0)" } ?? ""
        return "\(labelled) labelled scans, \(queued) to ingest, \(waiting) predictions waiting, model \(model)\(trainingNow ? ", training" : "")\(space)"
    }

    // MARK: Disk space

    func hasRoom() -> Bool { room.hasRoom() }
}

/// A problem of the daemon's own state, in one sentence.
public struct DaemonError: Error, CustomStringConvertible {
    public let reason: String
    /// The errno behind it, when a system call failed (so a full disk is known by kind).
    public let code: Int32?
    public init(reason: String, code: Int32? = nil) { (self.reason, self.code) = (reason, code) }
    public var description: String { reason }
}
