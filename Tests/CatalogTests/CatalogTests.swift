import CTDTestSupport
import Catalog
import Foundation
import Testing

@Suite struct CatalogTests {
    let folder = TemporaryFolder()
    var catalog: Catalog { get throws { try Catalog(path: folder.path + "/ctd.sqlite") } }

    static func hash(_ n: Int) -> String { String(format: "%064x", n) }

    func ingested(_ n: Int, label: Int?, name: String? = nil) -> Catalog.Ingested {
        let inbox = name ?? (label.map { $0 == 0 ? "CT-0/s\(n).nii" : "CT-23/s\(n).nii" } ?? "s\(n).nii")
        return .init(inboxPath: inbox, name: "s\(n).nii", hash: Self.hash(n), size: 100, label: label, facts: "{}", orientation: "LPS",
                     cache: ("k1", "/cache/\(n).npy", "c\(n)"), destination: "/archive/\(inbox)-\(UUID().uuidString)")
    }

    @Test func opensInWALModeAndPassesTheIntegrityCheck() throws {
        let catalog = try catalog
        #expect(catalog.journalMode == "wal")
        #expect(try catalog.integrityCheck() == "ok")
        // Opening again runs no migration twice.
        _ = try Catalog(path: folder.path + "/ctd.sqlite")
    }

    /// What `next_to_label` ranks: unlabelled cached scans, each with its latest prediction and
    /// the archived file to copy; labelled scans are left out.
    @Test func unlabelledScansComeWithTheirLatestPredictionAndArchivedFile() throws {
        let catalog = try catalog
        let first = try catalog.recordIngest(ingested(1, label: nil), now: 1).file
        try catalog.markMoved(fileID: first.id)
        let second = try catalog.recordIngest(ingested(2, label: nil), now: 2).file
        try catalog.markMoved(fileID: second.id)
        let labelled = try catalog.recordIngest(ingested(3, label: 1), now: 3).file
        try catalog.markMoved(fileID: labelled.id)
        try catalog.recordPrediction(fileID: first.id, scanID: first.scanID, runID: "r1", probabilityAbnormal: 0.9, decision: .abnormal, report: "a", now: 10)
        let again = try catalog.recordIngest(ingested(1, label: nil, name: "ward/again.nii"), now: 11).file
        try catalog.markMoved(fileID: again.id)
        try catalog.recordPrediction(fileID: again.id, scanID: again.scanID, runID: "r2", probabilityAbnormal: 0.4, decision: .normal, report: "b", now: 12)
        let found = try catalog.unlabelledScans()
        #expect(found.map(\.scan.id) == [first.scanID, second.scanID])
        #expect(found[0].prediction?.runID == "r2" && found[0].prediction?.probabilityAbnormal == 0.4)
        #expect(found[0].archived == again.destination, "the file the latest prediction was for")
        #expect(found[1].prediction == nil && found[1].archived == second.destination)
    }

    @Test func unwritableLocationIsAClearError() {
        #expect(throws: CatalogError.self) { try Catalog(path: "/proc/ctd-no/ctd.sqlite") }
    }

    @Test func jobsAreQueuedOncePerSubjectRetriedAndParked() throws {
        let catalog = try catalog
        #expect(try catalog.enqueue(.ingest, subject: "a.nii", now: 1))
        #expect(try !catalog.enqueue(.ingest, subject: "a.nii", now: 2))
        let job = try #require(try catalog.claimNext(.ingest, now: 3))
        #expect(job.state == .running && job.attempts == 1)
        #expect(try catalog.claimNext(.ingest, now: 3) == nil)
        try catalog.fail(jobID: job.id, error: "unreadable", park: false, now: 4)
        #expect(try catalog.jobs(kind: .ingest, state: .queued).map(\.id) == [job.id])
        let again = try #require(try catalog.claimNext(.ingest, now: 5))
        #expect(again.attempts == 2)
        try catalog.fail(jobID: again.id, error: "unreadable", park: true, now: 6)
        #expect(try catalog.jobs(kind: .ingest, state: .parked).first?.error == "unreadable")
        // Once parked, the same subject can be queued anew (a new copy of the file, say).
        #expect(try catalog.enqueue(.ingest, subject: "a.nii", now: 7))
    }

    @Test func jobsRunningWhenTheProcessDiedAreRetriedThenParked() throws {
        let catalog = try catalog
        try catalog.enqueue(.predict, subject: "1", now: 0)
        _ = try catalog.claimNext(.predict, now: 1)
        #expect(try catalog.recoverInterrupted(maxAttempts: 2, now: 2).isEmpty)
        #expect(try catalog.jobCount(kind: .predict, state: .queued) == 1)
        _ = try catalog.claimNext(.predict, now: 3)
        let parked = try catalog.recoverInterrupted(maxAttempts: 2, now: 4)
        #expect(parked.count == 1 && parked[0].error?.contains("interrupted 2 times") == true)
    }

    @Test func releasingASuspendedJobDoesNotCountTheAttempt() throws {
        let catalog = try catalog
        try catalog.enqueue(.train, subject: "run-1", now: 0)
        let job = try #require(try catalog.claimNext(.train, now: 1))
        try catalog.release(jobID: job.id, now: 2)
        #expect(try catalog.claimNext(.train, now: 3)?.attempts == 1)
    }

    @Test func theSameContentIsOneScanAndALaterLabelIsKept() throws {
        let catalog = try catalog
        let request = try catalog.recordIngest(ingested(1, label: nil), now: 10)
        #expect(!request.duplicate)
        // An unlabelled file asks for a prediction.
        #expect(try catalog.jobs(kind: .predict).map(\.subject) == [String(request.file.id)])
        let taught = try catalog.recordIngest(ingested(1, label: 1), now: 20)
        #expect(taught.duplicate && taught.labelConflict == nil)
        let scan = try #require(try catalog.scan(hash: Self.hash(1)))
        #expect(scan.label == 1 && scan.labelledAt == 20)
        let conflicting = try catalog.recordIngest(ingested(1, label: 0), now: 30)
        #expect(conflicting.labelConflict == 1)
        #expect(try catalog.scan(hash: Self.hash(1))?.label == 1)
        #expect(try catalog.scans().count == 1)
        #expect(try catalog.files().count == 3)
        #expect(try catalog.unmovedFiles().count == 3)
        try catalog.markMoved(fileID: request.file.id)
        #expect(try catalog.unmovedFiles().count == 2)
    }

    @Test func rejectedFilesAreRecordedWithTheirReason() throws {
        let catalog = try catalog
        let file = try catalog.recordRejection(inboxPath: "bad.nii", name: "bad.nii", hash: Self.hash(9), size: 3, label: nil,
                                               error: "not a NIfTI file", destination: "/rejected/bad.nii", now: 1)
        #expect(file.outcome == .rejected && file.error == "not a NIfTI file")
        #expect(try catalog.scan(hash: Self.hash(9))?.state == .rejected)
        #expect(try catalog.isDestinationTaken("/rejected/bad.nii"))
        let counts = try catalog.scanCounts()
        #expect(counts[.none, .rejected] == 1 && counts[.normal, .cached] == 0 && counts.labelledCached == 0)
        #expect(counts.byName == ["none/rejected": 1], "the keys ctctl status --json has always given")
    }

    @Test func trainingDataNeedsALabelAndACacheEntryForTheCurrentParameters() throws {
        let catalog = try catalog
        for n in 1...3 { _ = try catalog.recordIngest(ingested(n, label: n % 2), now: Double(n)) }
        _ = try catalog.recordIngest(ingested(4, label: nil), now: 4)
        #expect(try catalog.labelledScans(key: "k1").count == 3)
        #expect(try catalog.labelledScans(key: "k2").isEmpty)
        #expect(try catalog.labelledCount(since: 1.5) == 2)
        // New preprocessing parameters: the old entries go, and every readable scan needs rebuilding.
        let stale = try catalog.removeCacheEntries(otherThan: "k2")
        #expect(stale.count == 4)
        let missing = try catalog.scansMissingCache(key: "k2")
        #expect(missing.count == 4 && missing.allSatisfy { $0.original.hasPrefix("/archive/") })
        try catalog.setCacheEntry(scanID: missing[0].scan.id, key: "k2", path: "/c", checksum: "x", now: 9)
        #expect(try catalog.scansMissingCache(key: "k2").count == 3)
    }

    @Test func runsEpochsPromotionAndRollback() throws {
        let catalog = try catalog
        #expect(try catalog.activeRun() == nil)
        try catalog.startRun(id: "run-a", folder: "/m/a", reason: "requested", trainCount: 10, validationCount: 4, now: 100)
        try catalog.recordEpoch(EpochRow(runID: "run-a", epoch: 1, loss: 0.7, acc: 0.5, valLoss: 0.69, valAcc: 0.5, valAUC: nil, seconds: 3,
                                         valBestAcc: 0.75, valAccCalibrated: 0.7, valECECalibrated: 0.04))
        try catalog.endRun(id: "run-a", state: .finished, bestEpoch: 1, valLoss: 0.69, valAcc: 0.5, valAUC: 0.6, error: nil, now: 110)
        try catalog.decidePromotion(runID: "run-a", promote: true, note: "promoted: no model was active")
        try catalog.startRun(id: "run-b", folder: "/m/b", reason: "20 new labelled scans", trainCount: 20, validationCount: 8, now: 200)
        try catalog.endRun(id: "run-b", state: .stoppedEarly, bestEpoch: 3, valLoss: 0.9, valAcc: 0.4, valAUC: nil, error: nil, now: 210)
        try catalog.decidePromotion(runID: "run-b", promote: false, note: "not promoted: worse")
        #expect(try catalog.activeRun()?.id == "run-a")
        #expect(try catalog.run(id: "run-b")?.promotionNote == "not promoted: worse")
        try catalog.activate(runID: "run-b")
        #expect(try catalog.activeRun()?.id == "run-b")
        #expect(try catalog.previousRunID() == "run-a")
        #expect(try catalog.epochs(runID: "run-a").map(\.valLoss) == [0.69])
        let epoch = try #require(try catalog.epochs(runID: "run-a").first)
        #expect(epoch.valBestAcc == 0.75 && epoch.valAccCalibrated == 0.7 && epoch.valECECalibrated == 0.04)
        #expect(try catalog.lastRunStart() == 200)
        #expect(try catalog.runs().map(\.id) == ["run-b", "run-a"])
    }

    @Test func schemaRefusesStatesThatMakeNoSense() throws {
        let catalog = try catalog
        // A probability outside [0, 1] is a bug upstream: the schema refuses it.
        #expect(throws: (any Error).self) {
            try catalog.recordPrediction(fileID: 1, scanID: 1, runID: "r", probabilityAbnormal: 1.5, decision: .abnormal, report: "x", now: 0)
        }
    }
}
