import Catalog
import ControlProtocol
import Foundation
import Glibc
import Logging
import Scheduling
import Training
import UnixSocket

/// The control commands: one table from command to handler. Read-only commands answer from the
/// catalog and the workers' state; mutating ones are logged with who asked. What the commands
/// need is passed in; the `ControlServer` calls `handle` from a thread per client.
struct ControlCommands: Sendable {
    let folders: StateFolders
    let catalog: Catalog
    let currentConfig: CurrentConfig
    let configFile: String?
    let startedAt: Date
    let log: Logger
    let metrics: Metrics
    let gate: ComputeGate
    let cache: ScanCache
    let room: RoomKeeper
    let model: ActiveModel
    let watcher: WatchWorker
    let trainer: TrainWorker
    /// Reads the configuration file again (as SIGHUP does).
    let reload: @Sendable () async -> Void
    let isStopping: @Sendable () -> Bool

    var config: DaemonConfig { currentConfig.value }

    func handle(_ request: Request, peer: Peer, descriptor passed: borrowing OwnedDescriptor?, send: (Response) throws -> Void) {
        let descriptor: Int32?  // lent for this call: the server closes it after
        switch passed {
        case .some(let file): descriptor = file.raw
        case .none: descriptor = nil
        }
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
                reply(.success(try .encoding(try catalog.runs(limit: request.limit ?? 1000).map { RunSummary($0, activeID: activeID) })))
            case .run: reply(.success(try .encoding(runDetail(request))))
            case .metrics: reply(.success(.string(try metricsText())))
            case .predict: reply(.success(try .encoding(predict(request, descriptor: descriptor))))
            case .nextToLabel: reply(.success(try .encoding(nextToLabel(limit: request.limit ?? 20))))
            case .export: try exportListing(request, send: send)
            case .retrain: try retrain(request, send: send)
            case .cancel:
                guard let run = trainer.cancel() else { throw ControlError(.nothingToRetrain, "no training run is in progress") }
                reply(.success(try .encoding(Acknowledgement("cancelling \(run): it stops at its next step"))))
            case .promote:
                guard let id = request.target else { throw ControlError(.badRequest, "promote needs a run id (see ctctl runs)") }
                reply(.success(try .encoding(Acknowledgement(try promote(id, by: peer)))))
            case .importModel:
                guard let descriptor else { throw ControlError(.badRequest, "import needs the checkpoint's descriptor passed with the request (SCM_RIGHTS)") }
                reply(.success(try .encoding(ModelImport(config: config, folders: folders, catalog: catalog, cache: cache, gate: gate, model: model, log: log).run(descriptor: descriptor, name: request.target ?? "checkpoint",
                                                                           promotion: request.promotion, peer: peer))))
            case .rollback:
                guard let previous = try catalog.previousRunID() else { throw ControlError(.notFound, "there is no earlier active model to roll back to") }
                reply(.success(try .encoding(Acknowledgement(try promote(previous, by: peer)))))
            case .pause:
                watcher.setPaused(true)
                reply(.success(try .encoding(Acknowledgement("paused: new files wait in the inbox and scheduled training waits; queued requests are still answered"))))
            case .resume:
                watcher.setPaused(false)
                trainer.wake()
                reply(.success(try .encoding(Acknowledgement("resumed: the inbox is rescanned now"))))
            case .reload:
                let done = DispatchSemaphore(value: 0)
                Task { await reload(); done.signal() }
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
}
