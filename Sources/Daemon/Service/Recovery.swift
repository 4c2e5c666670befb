import Catalog
import Foundation
import Glibc
import Logging
import Scheduling

/// What a process that died left half done, finished before the workers start: moves recorded
/// but not made, interrupted jobs (retried, or parked when they keep failing), temporary files,
/// and cache tensors made with other preprocessing parameters.
struct Recovery {
    let folders: StateFolders
    let catalog: Catalog
    let config: DaemonConfig
    let log: Logger
    let lookAgainLater: (String, Double) -> Void

    func run() throws {
        let ingestor = IngestWorker.ingestor(folders: folders, catalog: catalog, config: config)
        for file in try catalog.unmovedFiles() {
            let name = FileNaming.printable(file.inboxPath)
            do {
                if try ingestor.settleUnmoved(file) {
                    log.notice("\(name) had been moved to \(FileNaming.printable(file.destination)) when the last stop cut in")
                } else {
                    log.notice("\(name) was recorded but not moved when the last stop cut in: it is read again")
                }
            } catch {
                log.error("cannot settle the unfinished move of \(name): \(error); it is tried again on the next start")
            }
        }
        for job in try catalog.recoverInterrupted(maxAttempts: config.maxAttempts, now: Daemon.now()) {
            log.error("parked \(job.kind.rawValue) job for \(FileNaming.printable(job.subject)): \(job.error ?? "")")
            if job.kind == .ingest {
                IngestWorker.reject(job.subject, reason: job.error ?? "interrupted too often", ingestor: ingestor, log: log, lookAgainLater: lookAgainLater)
            }
        }
        for folder in [folders.cache, folders.outbox, folders.models, folders.rejected] { Self.removeTemporaryFiles(under: folder) }
        let stale = try catalog.removeCacheEntries(otherThan: config.training.preprocessing.key)
        for entry in stale { unlink(entry.path) }
        if !stale.isEmpty { log.notice("preprocessing parameters changed: dropped \(stale.count) cache tensors; rebuilding from the archive") }
    }

    static func removeTemporaryFiles(under folder: String) {
        guard let walker = FileManager.default.enumerator(atPath: folder) else { return }
        while let relative = walker.nextObject() as? String {
            if relative.hasSuffix(".partial") { unlink(folder + "/" + relative) }
        }
    }
}
