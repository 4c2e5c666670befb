import AtomicFile
import Catalog
import Engine
import Foundation
import Glibc
import Logging
import Model
import Scheduling
import Training

/// A training run that failed (already recorded as failed in the catalog), and whether it
/// would fail the same way again.
struct TrainingFailure: Error, CustomStringConvertible {
    let reason: String
    let recurs: Bool
    var description: String { reason }
}

/// Every queue's jobs go through here: claim → run → complete, or wait for space, retry, park.
struct JobRunner: Sendable {
    let catalog: Catalog
    let room: RoomKeeper
    let log: Logger

    /// What a job's work asks for when it ends without an error.
    enum Finish { case complete, release }

    /// How one claimed job ended.
    enum JobEnd {
        case done
        /// Back in the queue, the attempt uncounted (a suspended training run).
        case released
        /// Back in the queue until the disk has room again.
        case waitingForSpace
        case retrying(any Error)
        case parked(any Error)
    }

    /// Runs a claimed job's work, then completes it, or on failure does what `JobFailure` says:
    /// wait for disk space (released, the attempt uncounted), retry, or park. Every queue goes
    /// through here; callers only log the outcome in their own words.
    func run(_ job: JobRecord, maxAttempts: Int, _ work: () throws -> Finish) -> JobEnd {
        do {
            switch try work() {
            case .complete:
                try catalog.complete(jobID: job.id, now: Daemon.now())
                return .done
            case .release:
                try catalog.release(jobID: job.id, now: Daemon.now())
                return .released
            }
        } catch {
            let kind = Self.failureKind(error)
            if kind == .outOfSpace { room.noteFailedWrite() }
            switch JobFailure.action(kind, attempts: job.attempts, maxAttempts: maxAttempts, room: room.hasRoom()) {
            case .waitForSpace:
                room.releaseForSpace(job, after: error)
                return .waitingForSpace
            case let action:
                do { try catalog.fail(jobID: job.id, error: "\(error)", park: action == .park, now: Daemon.now()) } catch let recording {
                    // It stays 'running' in the catalog: the next start retries it.
                    log.error("cannot record the failure of \(job.kind.rawValue) \(FileNaming.printable(job.subject)): \(recording)")
                }
                return action == .park ? .parked(error) : .retrying(error)
            }
        }
    }

    /// The kind of a failure, from its type and errno, never its text.
    static func failureKind(_ error: any Error) -> JobFailure.Kind {
        switch error {
        case let error as AtomicFile.WriteError: return error.isOutOfSpace ? .outOfSpace : .transient
        case let error as DaemonError: return error.code.map(isOutOfSpace(errno:)) == true ? .outOfSpace : .transient
        case let error as TrainingFailure: return error.recurs ? .recurring : .transient
        // oneDNN lacking a primitive for these shapes and types, or settings and data the trainer
        // refuses: a retry would fail the same way.
        case let error as EngineError: return [.unimplemented, .invalidArguments].contains(error.status) ? .recurring : .transient
        case is TrainingError, is PrecisionError, is Architecture.SizeError: return .recurring
        default: break
        }
        if Catalog.isDiskFull(error) { return .outOfSpace }
        // Foundation's file operations report errno in NSPOSIXErrorDomain, perhaps underneath.
        let outer = error as NSError
        for inner in [outer, outer.userInfo[NSUnderlyingErrorKey] as? NSError].compactMap({ $0 }) where inner.domain == NSPOSIXErrorDomain {
            if isOutOfSpace(errno: Int32(inner.code)) { return .outOfSpace }
        }
        return .transient
    }

    static func isOutOfSpace(errno code: Int32) -> Bool { code == ENOSPC || code == EDQUOT }
}
