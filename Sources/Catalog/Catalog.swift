import Foundation
import GRDB

/// Why the catalog cannot be opened or written; the message names the file and what to do.
public struct CatalogError: Error, CustomStringConvertible {
    public let path: String
    public let reason: String
    public var description: String { "\(path): \(reason)" }
    public init(path: String, reason: String) { (self.path, self.reason) = (path, reason) }
}

/// The daemon's memory, in SQLite (WAL mode, one writer): scans, the files that brought them,
/// cache entries, persistent jobs, training runs with their epochs, predictions, and the active
/// model pointer. Every method is one transaction.
public final class Catalog: Sendable {
    public let path: String
    private let database: DatabasePool

    public init(path: String) throws {
        self.path = path
        var configuration = Configuration()
        configuration.busyMode = .timeout(10)
        configuration.foreignKeysEnabled = true
        do {
            database = try DatabasePool(path: path, configuration: configuration)
            try Schema.migrator.migrate(database)
        } catch {
            throw CatalogError(path: path, reason: "cannot open the catalog: \(error) (is the state folder writable, and the disk not full?)")
        }
    }

    /// `PRAGMA integrity_check`: "ok" when the file is sound.
    public func integrityCheck() throws -> String {
        try database.read { db in try String.fetchOne(db, sql: "PRAGMA integrity_check") ?? "no answer" }
    }

    public var journalMode: String {
        (try? database.read { db in try String.fetchOne(db, sql: "PRAGMA journal_mode") }) .flatMap { $0 } ?? "unknown"
    }

    // MARK: Jobs

    /// Queues a job unless one for the same subject is already queued or running.
    @discardableResult
    public func enqueue(_ kind: JobRecord.Kind, subject: String, now: Double) throws -> Bool {
        try database.write { db in
            try db.execute(sql: """
                INSERT INTO job (kind, subject, state, created_at, updated_at) VALUES (?, ?, 'queued', ?, ?)
                ON CONFLICT DO NOTHING
                """, arguments: [kind.rawValue, subject, now, now])
            return db.changesCount > 0
        }
    }

    /// Takes the oldest queued job of a kind and marks it running (one more attempt).
    public func claimNext(_ kind: JobRecord.Kind, now: Double) throws -> JobRecord? {
        try database.write { db in
            try Self.start(JobRecord.fetchOne(db, sql: "SELECT * FROM job WHERE kind = ? AND state = 'queued' ORDER BY id LIMIT 1",
                                              arguments: [kind.rawValue]), now: now, db)
        }
    }

    /// Takes one particular queued job (by subject) and marks it running.
    public func claim(_ kind: JobRecord.Kind, subject: String, now: Double) throws -> JobRecord? {
        try database.write { db in
            try Self.start(JobRecord.fetchOne(db, sql: "SELECT * FROM job WHERE kind = ? AND subject = ? AND state = 'queued'",
                                              arguments: [kind.rawValue, subject]), now: now, db)
        }
    }

    /// Marks a queued job running, counting one more attempt.
    private static func start(_ job: JobRecord?, now: Double, _ db: Database) throws -> JobRecord? {
        guard var job else { return nil }
        try db.execute(sql: "UPDATE job SET state = 'running', attempts = attempts + 1, updated_at = ? WHERE id = ?", arguments: [now, job.id])
        job.state = .running
        job.attempts += 1
        job.updatedAt = now
        return job
    }

    public func complete(jobID: Int64, now: Double) throws {
        try database.write { db in
            try db.execute(sql: "UPDATE job SET state = 'done', error = NULL, updated_at = ? WHERE id = ?", arguments: [now, jobID])
        }
    }

    /// Records a failed attempt: the job is queued again, or parked (set aside with its error).
    public func fail(jobID: Int64, error: String, park: Bool, now: Double) throws {
        try database.write { db in
            try db.execute(sql: "UPDATE job SET state = ?, error = ?, updated_at = ? WHERE id = ?",
                           arguments: [(park ? JobRecord.State.parked : .queued).rawValue, error, now, jobID])
        }
    }

    /// Whether `error` is SQLite finding the disk full (SQLITE_FULL).
    public static func isDiskFull(_ error: any Error) -> Bool {
        (error as? DatabaseError)?.resultCode == .SQLITE_FULL
    }

    /// At start: jobs left running by a process that died are queued again, or parked when they
    /// have already been tried `maxAttempts` times (a file that kills the daemon must not do so
    /// forever). Returns the jobs it parked.
    public func recoverInterrupted(maxAttempts: Int, now: Double) throws -> [JobRecord] {
        try database.write { db in
            let running = try JobRecord.fetchAll(db, sql: "SELECT * FROM job WHERE state = 'running'")
            var parked: [JobRecord] = []
            for var job in running {
                if job.attempts >= maxAttempts {
                    job.state = .parked
                    job.error = "interrupted \(job.attempts) times (the daemon stopped or died while working on it)"
                    parked.append(job)
                } else {
                    job.state = .queued
                }
                try db.execute(sql: "UPDATE job SET state = ?, error = ?, updated_at = ? WHERE id = ?",
                               arguments: [job.state.rawValue, job.error, now, job.id])
            }
            return parked
        }
    }

    /// Puts a running job back in the queue without counting the attempt (it was suspended, not failed).
    public func release(jobID: Int64, now: Double) throws {
        try database.write { db in
            try db.execute(sql: "UPDATE job SET state = 'queued', attempts = max(0, attempts - 1), updated_at = ? WHERE id = ? AND state = 'running'",
                           arguments: [now, jobID])
        }
    }

    /// When the last parked job of this kind for this subject was parked, if there is one.
    public func parkedAt(_ kind: JobRecord.Kind, subject: String) throws -> Double? {
        try database.read { db in
            try Double.fetchOne(db, sql: "SELECT max(updated_at) FROM job WHERE kind = ? AND subject = ? AND state = 'parked'",
                                arguments: [kind.rawValue, subject])
        }
    }

    public func jobs(kind: JobRecord.Kind? = nil, state: JobRecord.State? = nil, limit: Int = 1000) throws -> [JobRecord] {
        try database.read { db in
            try JobRecord.fetchAll(db, sql: """
                SELECT * FROM job WHERE (?1 IS NULL OR kind = ?1) AND (?2 IS NULL OR state = ?2) ORDER BY id LIMIT ?3
                """, arguments: [kind?.rawValue, state?.rawValue, limit])
        }
    }

    public func jobCount(kind: JobRecord.Kind, state: JobRecord.State) throws -> Int {
        try database.read { db in
            try Int.fetchOne(db, sql: "SELECT count(*) FROM job WHERE kind = ? AND state = ?", arguments: [kind.rawValue, state.rawValue]) ?? 0
        }
    }

    // MARK: Ingest

    /// What ingesting a readable scan produced.
    public struct Ingested: Sendable {
        public var inboxPath: String
        public var name: String
        public var hash: String
        public var size: Int64
        public var label: Int?
        public var facts: String
        public var orientation: String?
        public var cache: (key: String, path: String, checksum: String)
        public var destination: String

        public init(inboxPath: String, name: String, hash: String, size: Int64, label: Int?, facts: String, orientation: String?,
                    cache: (key: String, path: String, checksum: String), destination: String) {
            (self.inboxPath, self.name, self.hash, self.size, self.label) = (inboxPath, name, hash, size, label)
            (self.facts, self.orientation, self.cache, self.destination) = (facts, orientation, cache, destination)
        }
    }

    /// Records a scan, the file that brought it (still to be moved), its cache entry and, for an
    /// unlabelled file, a prediction job, in one transaction. The same content seen before is
    /// the same scan (`duplicate`); a label given later is kept; a conflicting one marks the scan
    /// (`labelConflict`, the earlier label) until `resolveLabelConflicts` finds the copies agree.
    public func recordIngest(_ item: Ingested, now: Double) throws -> (file: FileRecord, duplicate: Bool, labelConflict: Int?) {
        try database.write { db in
            var duplicate = false, conflict: Int?
            let scanID: Int64
            if let scan = try ScanRecord.fetchOne(db, sql: "SELECT * FROM scan WHERE hash = ?", arguments: [item.hash]) {
                duplicate = true
                scanID = scan.id
                if scan.state == .rejected {
                    // Read fine this time (a limit was raised, say): the scan is usable now.
                    try db.execute(sql: "UPDATE scan SET state = 'cached', error = NULL, facts = ?, updated_at = ? WHERE id = ?",
                                   arguments: [item.facts, now, scanID])
                }
                if let label = item.label {
                    if scan.label == nil {
                        try db.execute(sql: "UPDATE scan SET label = ?, labelled_at = ?, updated_at = ? WHERE id = ?",
                                       arguments: [label, now, now, scanID])
                    } else if scan.label != label {
                        conflict = scan.label
                        try db.execute(sql: "UPDATE scan SET label_conflict = 1, updated_at = ? WHERE id = ?", arguments: [now, scanID])
                    }
                }
            } else {
                try db.execute(sql: """
                    INSERT INTO scan (hash, name, label, size, facts, orientation, state, labelled_at, created_at, updated_at)
                    VALUES (?, ?, ?, ?, ?, ?, 'cached', ?, ?, ?)
                    """, arguments: [item.hash, item.name, item.label, item.size, item.facts, item.orientation,
                                     item.label == nil ? nil : now, now, now])
                scanID = db.lastInsertedRowID
            }
            try Self.upsertCacheEntry(scanID: scanID, key: item.cache.key, path: item.cache.path, checksum: item.cache.checksum, now: now, db)
            try db.execute(sql: """
                INSERT INTO file (inbox_path, size, hash, scan_id, label, outcome, destination, duplicate, arrived_at)
                VALUES (?, ?, ?, ?, ?, 'archived', ?, ?, ?)
                """, arguments: [item.inboxPath, item.size, item.hash, scanID, item.label, item.destination, duplicate, now])
            let file = try FileRecord.fetchOne(db, sql: "SELECT * FROM file WHERE id = ?", arguments: [db.lastInsertedRowID])!
            if item.label == nil {
                try db.execute(sql: """
                    INSERT INTO job (kind, subject, state, created_at, updated_at) VALUES ('predict', ?, 'queued', ?, ?)
                    ON CONFLICT DO NOTHING
                    """, arguments: [String(file.id), now, now])
            }
            return (file, duplicate, conflict)
        }
    }

    /// Records an unreadable file: a rejected scan (by hash) and the file, still to be moved to
    /// `destination` under rejected/.
    public func recordRejection(inboxPath: String, name: String, hash: String, size: Int64, label: Int?, error: String,
                                destination: String, now: Double) throws -> FileRecord {
        try database.write { db in
            let scanID: Int64
            if let id = try Int64.fetchOne(db, sql: "SELECT id FROM scan WHERE hash = ?", arguments: [hash]) {
                scanID = id
            } else {
                try db.execute(sql: """
                    INSERT INTO scan (hash, name, label, size, state, error, created_at, updated_at)
                    VALUES (?, ?, ?, ?, 'rejected', ?, ?, ?)
                    """, arguments: [hash, name, label, size, error, now, now])
                scanID = db.lastInsertedRowID
            }
            try db.execute(sql: """
                INSERT INTO file (inbox_path, size, hash, scan_id, label, outcome, destination, error, arrived_at)
                VALUES (?, ?, ?, ?, ?, 'rejected', ?, ?, ?)
                """, arguments: [inboxPath, size, hash, scanID, label, destination, error, now])
            return try FileRecord.fetchOne(db, sql: "SELECT * FROM file WHERE id = ?", arguments: [db.lastInsertedRowID])!
        }
    }

    /// Takes back the record of a file whose move did not happen (it went away, was swapped, or
    /// the move failed): the file row, its prediction job and prediction, and the scan with its
    /// cache entries when no other file brought it. Returns the cache tensors no longer recorded,
    /// for the caller to delete. The file, if still in the inbox, is ingested again as new.
    @discardableResult
    public func withdraw(fileID: Int64) throws -> [String] {
        try database.write { db in
            guard let scanID = try Int64.fetchOne(db, sql: "SELECT scan_id FROM file WHERE id = ?", arguments: [fileID]) else { return [] }
            try db.execute(sql: "DELETE FROM job WHERE kind = 'predict' AND subject = ?", arguments: [String(fileID)])
            try db.execute(sql: "DELETE FROM prediction WHERE file_id = ?", arguments: [fileID])
            try db.execute(sql: "DELETE FROM file WHERE id = ?", arguments: [fileID])
            guard try Int.fetchOne(db, sql: "SELECT count(*) FROM file WHERE scan_id = ?", arguments: [scanID]) == 0 else { return [] }
            let tensors = try String.fetchAll(db, sql: "SELECT path FROM cache_entry WHERE scan_id = ?", arguments: [scanID])
            try db.execute(sql: "DELETE FROM prediction WHERE scan_id = ?", arguments: [scanID])
            try db.execute(sql: "DELETE FROM cache_entry WHERE scan_id = ?", arguments: [scanID])
            try db.execute(sql: "DELETE FROM scan WHERE id = ?", arguments: [scanID])
            return tensors
        }
    }

    public func markMoved(fileID: Int64) throws {
        try database.write { db in try db.execute(sql: "UPDATE file SET moved = 1 WHERE id = ?", arguments: [fileID]) }
    }

    /// Files recorded but not yet moved out of the inbox (the process died in between).
    public func unmovedFiles() throws -> [FileRecord] {
        try database.read { db in try FileRecord.fetchAll(db, sql: "SELECT * FROM file WHERE moved = 0 ORDER BY id") }
    }

    public func isDestinationTaken(_ destination: String) throws -> Bool {
        try database.read { db in try Bool.fetchOne(db, sql: "SELECT 1 FROM file WHERE destination = ?", arguments: [destination]) ?? false }
    }

    public func file(id: Int64) throws -> FileRecord? {
        try database.read { db in try FileRecord.fetchOne(db, sql: "SELECT * FROM file WHERE id = ?", arguments: [id]) }
    }

    public func files(limit: Int = 100_000) throws -> [FileRecord] {
        try database.read { db in try FileRecord.fetchAll(db, sql: "SELECT * FROM file ORDER BY id LIMIT ?", arguments: [limit]) }
    }

    public func scan(id: Int64) throws -> ScanRecord? {
        try database.read { db in try ScanRecord.fetchOne(db, sql: "SELECT * FROM scan WHERE id = ?", arguments: [id]) }
    }

    public func scan(hash: String) throws -> ScanRecord? {
        try database.read { db in try ScanRecord.fetchOne(db, sql: "SELECT * FROM scan WHERE hash = ?", arguments: [hash]) }
    }

    public func scans(limit: Int = 100_000) throws -> [ScanRecord] {
        try database.read { db in try ScanRecord.fetchAll(db, sql: "SELECT * FROM scan ORDER BY id LIMIT ?", arguments: [limit]) }
    }

    /// Scans filtered by label and state (nil: any), newest first.
    public func scans(label: ScanRecord.Label?, state: ScanRecord.State?, limit: Int) throws -> [ScanRecord] {
        let labelClause: String
        switch label {
        case .normal: labelClause = "label = 0 AND label_conflict = 0"
        case .abnormal: labelClause = "label = 1 AND label_conflict = 0"
        case .none?: labelClause = "label IS NULL"
        case .conflict: labelClause = "label_conflict = 1"
        case nil: labelClause = "1"
        }
        return try database.read { db in
            try ScanRecord.fetchAll(db, sql: "SELECT * FROM scan WHERE \(labelClause) AND (?1 IS NULL OR state = ?1) ORDER BY id DESC LIMIT ?2",
                                    arguments: [state?.rawValue, limit])
        }
    }

    /// A scan by id, content hash (or its first 8+ hex digits), original name or inbox path.
    public func findScan(_ key: String) throws -> ScanRecord? {
        try database.read { db in
            if let id = Int64(key), let scan = try ScanRecord.fetchOne(db, sql: "SELECT * FROM scan WHERE id = ?", arguments: [id]) {
                return scan
            }
            if key.count >= 8, key.allSatisfy(\.isHexDigit),
               let scan = try ScanRecord.fetchOne(db, sql: "SELECT * FROM scan WHERE hash LIKE ? ORDER BY id LIMIT 1", arguments: [key.lowercased() + "%"]) {
                return scan
            }
            return try ScanRecord.fetchOne(db, sql: """
                SELECT * FROM scan WHERE name = ?1 OR id IN (SELECT scan_id FROM file WHERE inbox_path = ?1 OR destination LIKE '%/' || ?1)
                ORDER BY id DESC LIMIT 1
                """, arguments: [key])
        }
    }

    public func files(scanID: Int64) throws -> [FileRecord] {
        try database.read { db in try FileRecord.fetchAll(db, sql: "SELECT * FROM file WHERE scan_id = ? ORDER BY id", arguments: [scanID]) }
    }

    public func predictions(scanID: Int64) throws -> [PredictionRecord] {
        try database.read { db in try PredictionRecord.fetchAll(db, sql: "SELECT * FROM prediction WHERE scan_id = ? ORDER BY id", arguments: [scanID]) }
    }

    /// Jobs by kind and state.
    public func jobCounts() throws -> [JobRecord.Kind: [JobRecord.State: Int]] {
        try database.read { db in
            var counts: [JobRecord.Kind: [JobRecord.State: Int]] = [:]
            for row in try Row.fetchAll(db, sql: "SELECT kind, state, count(*) AS n FROM job GROUP BY kind, state") {
                guard let kind = JobRecord.Kind(rawValue: row["kind"]), let state = JobRecord.State(rawValue: row["state"]) else { continue }
                counts[kind, default: [:]][state] = row["n"] as Int
            }
            return counts
        }
    }

    /// Totals for metrics: files by outcome, predictions, runs by state, epochs and their seconds.
    public func totals() throws -> [String: Double] {
        try database.read { db in
            var totals: [String: Double] = [:]
            for row in try Row.fetchAll(db, sql: "SELECT outcome, count(*) AS n FROM file GROUP BY outcome") {
                totals["files_" + (row["outcome"] as String)] = Double(row["n"] as Int)
            }
            totals["predictions"] = Double(try Int.fetchOne(db, sql: "SELECT count(*) FROM prediction") ?? 0)
            totals["runs"] = Double(try Int.fetchOne(db, sql: "SELECT count(*) FROM run") ?? 0)
            totals["epochs"] = Double(try Int.fetchOne(db, sql: "SELECT count(*) FROM epoch") ?? 0)
            totals["epoch_seconds"] = try Double.fetchOne(db, sql: "SELECT coalesce(sum(seconds), 0) FROM epoch") ?? 0
            return totals
        }
    }

    // MARK: Cache

    public func cacheEntry(scanID: Int64, key: String) throws -> CacheEntryRecord? {
        try database.read { db in
            try CacheEntryRecord.fetchOne(db, sql: "SELECT * FROM cache_entry WHERE scan_id = ? AND parameters_key = ?",
                                          arguments: [scanID, key])
        }
    }

    public func setCacheEntry(scanID: Int64, key: String, path: String, checksum: String, now: Double) throws {
        try database.write { db in try Self.upsertCacheEntry(scanID: scanID, key: key, path: path, checksum: checksum, now: now, db) }
    }

    private static func upsertCacheEntry(scanID: Int64, key: String, path: String, checksum: String, now: Double, _ db: Database) throws {
        try db.execute(sql: """
            INSERT INTO cache_entry (scan_id, parameters_key, path, checksum, created_at) VALUES (?, ?, ?, ?, ?)
            ON CONFLICT (scan_id, parameters_key) DO UPDATE SET path = excluded.path, checksum = excluded.checksum,
                created_at = excluded.created_at
            """, arguments: [scanID, key, path, checksum, now])
    }

    public func removeCacheEntries(otherThan key: String) throws -> [CacheEntryRecord] {
        try database.write { db in
            let stale = try CacheEntryRecord.fetchAll(db, sql: "SELECT * FROM cache_entry WHERE parameters_key != ?", arguments: [key])
            try db.execute(sql: "DELETE FROM cache_entry WHERE parameters_key != ?", arguments: [key])
            return stale
        }
    }

    /// Readable scans with no cache entry for `key`, each with an archived original to rebuild it from.
    public func scansMissingCache(key: String) throws -> [(scan: ScanRecord, original: String)] {
        try database.read { db in
            let scans = try ScanRecord.fetchAll(db, sql: """
                SELECT * FROM scan WHERE state = 'cached'
                AND NOT EXISTS (SELECT 1 FROM cache_entry c WHERE c.scan_id = scan.id AND c.parameters_key = ?) ORDER BY id
                """, arguments: [key])
            return try scans.compactMap { scan in
                try String.fetchOne(db, sql: "SELECT destination FROM file WHERE scan_id = ? AND outcome = 'archived' ORDER BY id LIMIT 1",
                                    arguments: [scan.id]).map { (scan, $0) }
            }
        }
    }

    /// Where the first archived copy of a scan is (to rebuild its cache tensor from).
    public func archivedOriginal(scanID: Int64) throws -> String? {
        try database.read { db in
            try String.fetchOne(db, sql: "SELECT destination FROM file WHERE scan_id = ? AND outcome = 'archived' AND moved = 1 ORDER BY id LIMIT 1",
                                arguments: [scanID])
        }
    }

    /// Labelled, readable scans and their cache entries for `key`: the training data.
    public func labelledScans(key: String) throws -> [(scan: ScanRecord, cache: CacheEntryRecord)] {
        try database.read { db in
            let scans = try ScanRecord.fetchAll(db, sql: "SELECT * FROM scan WHERE label IS NOT NULL AND state = 'cached' AND label_conflict = 0 ORDER BY id")
            return try scans.compactMap { scan in
                try CacheEntryRecord.fetchOne(db, sql: "SELECT * FROM cache_entry WHERE scan_id = ? AND parameters_key = ?",
                                              arguments: [scan.id, key]).map { (scan, $0) }
            }
        }
    }

    /// Scans labelled both ways whose archived copies now agree (the others were removed from
    /// archive/): each takes the remaining copies' label and is used for training again.
    /// `exists` says whether an archived copy is still there. Returns the scans resolved.
    @discardableResult
    public func resolveLabelConflicts(now: Double, exists: (String) -> Bool) throws -> [ScanRecord] {
        let any = try database.read { db in try Bool.fetchOne(db, sql: "SELECT 1 FROM scan WHERE label_conflict = 1 LIMIT 1") ?? false }
        guard any else { return [] }
        return try database.write { db in
            var resolved: [ScanRecord] = []
            for var scan in try ScanRecord.fetchAll(db, sql: "SELECT * FROM scan WHERE label_conflict = 1") {
                let files = try FileRecord.fetchAll(db, sql: """
                    SELECT * FROM file WHERE scan_id = ? AND outcome = 'archived' AND moved = 1 AND label IS NOT NULL
                    """, arguments: [scan.id])
                let labels = Set(files.filter { exists($0.destination) }.compactMap(\.label))
                guard labels.count == 1, let label = labels.first else { continue }
                try db.execute(sql: "UPDATE scan SET label = ?, label_conflict = 0, labelled_at = ?, updated_at = ? WHERE id = ?",
                               arguments: [label, now, now, scan.id])
                (scan.label, scan.labelConflict, scan.labelledAt) = (label, false, now)
                resolved.append(scan)
            }
            return resolved
        }
    }

    /// Labelled scans that arrived (or were labelled) after `time`.
    public func labelledCount(since time: Double?) throws -> Int {
        try database.read { db in
            try Int.fetchOne(db, sql: "SELECT count(*) FROM scan WHERE label IS NOT NULL AND state = 'cached' AND label_conflict = 0 AND labelled_at > ?",
                             arguments: [time ?? -Double.infinity]) ?? 0
        }
    }

    /// The orientation most labelled scans have (the training set's), if any is recorded.
    public func commonLabelledOrientation() throws -> String? {
        try database.read { db in
            try String.fetchOne(db, sql: """
                SELECT orientation FROM scan WHERE label IS NOT NULL AND orientation IS NOT NULL
                GROUP BY orientation ORDER BY count(*) DESC LIMIT 1
                """)
        }
    }

    /// Scans by label and state.
    public func scanCounts() throws -> ScanCounts {
        try database.read { db in
            var counts = ScanCounts()
            for row in try Row.fetchAll(db, sql: "SELECT label, label_conflict, state, count(*) AS n FROM scan GROUP BY label, label_conflict, state") {
                let label: Int? = row["label"]
                let group = ScanRecord.labelGroup(label: label, conflict: row["label_conflict"])
                guard let state = ScanRecord.State(rawValue: row["state"]) else { continue }
                counts[group, state] += row["n"] as Int
            }
            return counts
        }
    }

    // MARK: Predictions

    public func recordPrediction(fileID: Int64, scanID: Int64, runID: String, probabilityAbnormal: Double, decision: PredictionRecord.Decision,
                                 report: String, now: Double) throws {
        try database.write { db in
            try db.execute(sql: """
                INSERT INTO prediction (file_id, scan_id, run_id, probability_abnormal, decision, report, created_at)
                VALUES (?, ?, ?, ?, ?, ?, ?)
                ON CONFLICT (file_id) DO UPDATE SET run_id = excluded.run_id, probability_abnormal = excluded.probability_abnormal,
                    decision = excluded.decision, report = excluded.report, created_at = excluded.created_at
                """, arguments: [fileID, scanID, runID, probabilityAbnormal, decision.rawValue, report, now])
        }
    }

    /// Unlabelled, cached scans without a label conflict, each with its latest prediction (nil
    /// when it has none yet) and an archived file of it (the predicted one when it is archived).
    public func unlabelledScans() throws -> [(scan: ScanRecord, prediction: PredictionRecord?, archived: String?)] {
        try database.read { db in
            let scans = try ScanRecord.fetchAll(db, sql: "SELECT * FROM scan WHERE label IS NULL AND state = 'cached' AND label_conflict = 0 ORDER BY id")
            return try scans.map { scan in
                let prediction = try PredictionRecord.fetchOne(db, sql: "SELECT * FROM prediction WHERE scan_id = ? ORDER BY created_at DESC, id DESC LIMIT 1",
                                                               arguments: [scan.id])
                let archived = try String.fetchOne(db, sql: "SELECT destination FROM file WHERE scan_id = ? AND outcome = 'archived' AND moved = 1 ORDER BY (id = ?) DESC, id DESC LIMIT 1",
                                                   arguments: [scan.id, prediction?.fileID])
                return (scan, prediction, archived)
            }
        }
    }

    public func predictions(limit: Int = 100_000) throws -> [PredictionRecord] {
        try database.read { db in try PredictionRecord.fetchAll(db, sql: "SELECT * FROM prediction ORDER BY id LIMIT ?", arguments: [limit]) }
    }

    // MARK: Training runs and the active model

    public func startRun(id: String, folder: String, reason: String, trainCount: Int, validationCount: Int, now: Double) throws {
        try database.write { db in
            try db.execute(sql: """
                INSERT INTO run (id, folder, state, reason, train_count, validation_count, started_at)
                VALUES (?, ?, 'running', ?, ?, ?, ?)
                ON CONFLICT (id) DO UPDATE SET state = 'running', ended_at = NULL
                """, arguments: [id, folder, reason, trainCount, validationCount, now])
        }
    }

    public func recordEpoch(_ row: EpochRow) throws {
        try database.write { db in
            try db.execute(sql: """
                INSERT OR REPLACE INTO epoch (run_id, epoch, loss, acc, val_loss, val_acc, val_auc, seconds, val_best_acc, val_acc_calibrated, val_ece_calibrated)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                """, arguments: [row.runID, row.epoch, row.loss, row.acc, row.valLoss, row.valAcc, row.valAUC, row.seconds,
                                 row.valBestAcc, row.valAccCalibrated, row.valECECalibrated])
        }
    }

    public func endRun(id: String, state: RunRecord.State, bestEpoch: Int?, valLoss: Double?, valAcc: Double?, valAUC: Double?,
                       error: String?, now: Double) throws {
        try database.write { db in
            try db.execute(sql: """
                UPDATE run SET state = ?, best_epoch = ?, val_loss = ?, val_acc = ?, val_auc = ?, error = ?, ended_at = ? WHERE id = ?
                """, arguments: [state.rawValue, bestEpoch, valLoss, valAcc, valAUC, error, now, id])
        }
    }

    /// A model trained elsewhere, brought in by `ctctl import`: a finished run whose figures are
    /// the daemon's own evaluation on its validation set.
    public func recordImportedRun(id: String, folder: String, reason: String, source: String, validationCount: Int, bestEpoch: Int?,
                                  valLoss: Double?, valAcc: Double?, valAUC: Double?, now: Double) throws {
        try database.write { db in
            try db.execute(sql: """
                INSERT INTO run (id, folder, state, reason, train_count, validation_count, best_epoch, val_loss, val_acc, val_auc,
                                 started_at, ended_at, origin, source)
                VALUES (?, ?, 'finished', ?, 0, ?, ?, ?, ?, ?, ?, ?, 'imported', ?)
                """, arguments: [id, folder, reason, validationCount, bestEpoch, valLoss, valAcc, valAUC, now, now, source])
        }
    }

    /// Records the promotion decision; when promoted, the run becomes the active model and the
    /// previous one is remembered for rollback.
    public func decidePromotion(runID: String, promote: Bool, note: String) throws {
        try database.write { db in
            try db.execute(sql: "UPDATE run SET promoted = ?, promotion_note = ? WHERE id = ?", arguments: [promote, note, runID])
            if promote { try Self.activate(runID, db) }
        }
    }

    /// Makes a finished run the active model by hand.
    public func activate(runID: String) throws {
        try database.write { db in try Self.activate(runID, db) }
    }

    private static func activate(_ runID: String, _ db: Database) throws {
        if let current = try String.fetchOne(db, sql: "SELECT value FROM setting WHERE key = 'active_run'"), current != runID {
            try db.execute(sql: "INSERT OR REPLACE INTO setting (key, value) VALUES ('previous_run', ?)", arguments: [current])
        }
        try db.execute(sql: "INSERT OR REPLACE INTO setting (key, value) VALUES ('active_run', ?)", arguments: [runID])
    }

    public func activeRun() throws -> RunRecord? {
        try database.read { db in
            try RunRecord.fetchOne(db, sql: "SELECT run.* FROM run JOIN setting ON setting.value = run.id WHERE setting.key = 'active_run'")
        }
    }

    public func previousRunID() throws -> String? {
        try database.read { db in try String.fetchOne(db, sql: "SELECT value FROM setting WHERE key = 'previous_run'") }
    }

    public func run(id: String) throws -> RunRecord? {
        try database.read { db in try RunRecord.fetchOne(db, sql: "SELECT * FROM run WHERE id = ?", arguments: [id]) }
    }

    public func runs(limit: Int = 1000) throws -> [RunRecord] {
        try database.read { db in try RunRecord.fetchAll(db, sql: "SELECT * FROM run ORDER BY started_at DESC LIMIT ?", arguments: [limit]) }
    }

    public func epochs(runID: String) throws -> [EpochRow] {
        try database.read { db in try EpochRow.fetchAll(db, sql: "SELECT * FROM epoch WHERE run_id = ? ORDER BY epoch", arguments: [runID]) }
    }

    /// When the latest run started: retraining counts new labels from then.
    public func lastRunStart() throws -> Double? {
        try database.read { db in try Double.fetchOne(db, sql: "SELECT max(started_at) FROM run") }
    }
}
