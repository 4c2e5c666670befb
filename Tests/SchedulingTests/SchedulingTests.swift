import Scheduling
import Testing

@Suite struct InboxPathTests {
    @Test func labelFoldersTeachAndEverythingElseAsks() {
        #expect(InboxPath.meaning(of: "CT-0/a.nii.gz") == .labelled(0))
        #expect(InboxPath.meaning(of: "CT-23/b.nii") == .labelled(1))
        #expect(InboxPath.meaning(of: "CT-23/batch 4/b.nii") == .labelled(1))
        #expect(InboxPath.meaning(of: "c.nii.gz") == .predictionRequest)
        #expect(InboxPath.meaning(of: "ward7/CT-0/c.nii.gz") == .predictionRequest)
        #expect(InboxPath.meaning(of: "CT-0.nii") == .predictionRequest)
    }

    @Test func hiddenTemporaryAndOtherFilesAreLeftAlone() {
        #expect(InboxPath.meaning(of: ".a.nii.gz.XyZ12") == .ignored)  // rsync's temporary name
        #expect(InboxPath.meaning(of: "CT-0/.hidden/a.nii") == .ignored)
        #expect(InboxPath.meaning(of: "notes.txt") == .ignored)
        #expect(InboxPath.meaning(of: "a.nii.gz.part") == .ignored)
        #expect(InboxPath.meaning(of: "a.nii.gz.12.partial") == .ignored)
    }

    @Test func reportStemsKeepFoldersApart() {
        #expect(FileNaming.reportStem(under: "out", relative: "a.nii.gz") == "out/a")
        #expect(FileNaming.reportStem(under: "out", relative: "ward7/a.nii") == "out/ward7_a")
        #expect(FileNaming.reportStem(under: "out", relative: "ward8/a.nii") != FileNaming.reportStem(under: "out", relative: "ward7/a.nii"))
    }
}

@Suite struct SettlingTests {
    typealias O = Settling.Observation

    @Test func aFileIsTakenOnlyAfterItStayedTheSameForTheSettleTime() {
        var settling = Settling(settleSeconds: 2)
        settling.observe("a", O(size: 10, modified: 1), now: 100)
        #expect(settling.due(now: 101).isEmpty)
        #expect(settling.due(now: 102) == ["a"])
        let taken = settling.confirm("a", now: O(size: 10, modified: 1), at: 102)
        #expect(taken)
        #expect(settling.waiting == 0)
    }

    @Test func aGrowingFileStartsItsSettleTimeAgain() {
        var settling = Settling(settleSeconds: 2)
        settling.observe("a", O(size: 10, modified: 1), now: 100)
        // A slow copy: bigger when re-checked.
        let taken = settling.confirm("a", now: O(size: 20, modified: 2), at: 102)
        #expect(!taken)
        #expect(settling.due(now: 103).isEmpty)
        #expect(settling.due(now: 104) == ["a"])
        // A second event for an unchanged file does not postpone it.
        settling.observe("a", O(size: 20, modified: 2), now: 103.5)
        #expect(settling.due(now: 104) == ["a"])
        #expect(settling.nextDue() == 104)
    }

    @Test func aFileDeletedBeforeItSettledIsForgotten() {
        var settling = Settling(settleSeconds: 1)
        settling.observe("a", O(size: 10, modified: 1), now: 0)
        let taken = settling.confirm("a", now: nil, at: 5)
        #expect(!taken)
        #expect(settling.waiting == 0)
        settling.observe("b", O(size: 1, modified: 1), now: 0)
        settling.forget("b")
        #expect(settling.due(now: 10).isEmpty)
    }

    @Test func dueFilesComeOldestFirst() {
        var settling = Settling(settleSeconds: 0)
        settling.observe("late", O(size: 1, modified: 1), now: 5)
        settling.observe("early", O(size: 1, modified: 1), now: 1)
        #expect(settling.due(now: 6) == ["early", "late"])
    }
}

@Suite struct RetrainPolicyTests {
    let policy = RetrainPolicy(minNewLabels: 10, interval: 3600, minPerClass: 4)

    func facts(requested: Bool = false, training: Bool = false, paused: Bool = false, last: Double? = nil, new: Int = 0,
               normal: Int = 20, abnormal: Int = 20, now: Double = 10_000) -> RetrainPolicy.Facts {
        .init(now: now, requested: requested, trainingNow: training, paused: paused, lastRunStart: last, newLabels: new,
              normal: normal, abnormal: abnormal)
    }

    func starts(_ decision: RetrainPolicy.Decision) -> Bool {
        if case .start = decision { return true }
        return false
    }

    @Test func trainsOnceEnoughNewLabelsAndTimeHavePassed() {
        #expect(starts(policy.decide(facts(last: nil, new: 10))))
        #expect(!starts(policy.decide(facts(last: nil, new: 9))))
        #expect(!starts(policy.decide(facts(last: 9_000, new: 50))))  // only 1000 s since the last run
        #expect(starts(policy.decide(facts(last: 6_400, new: 10))))
    }

    @Test func aRequestSkipsTheThresholdsButNotTheDataOrARunningRun() {
        #expect(starts(policy.decide(facts(requested: true, last: 9_999, new: 0))))
        #expect(!starts(policy.decide(facts(requested: true, new: 0, normal: 3))))
        #expect(!starts(policy.decide(facts(requested: true, training: true, new: 100))))
    }

    @Test func waitsUntilTheSplitHasBothSides() {
        var noValidation = facts(requested: true, new: 40)
        noValidation.validation = 0
        guard case .wait(let reason) = policy.decide(noValidation) else { Issue.record("should wait"); return }
        #expect(reason.contains("validation side"))
        var allValidation = facts(requested: true, new: 40, normal: 4, abnormal: 4)
        allValidation.validation = 7
        #expect(!starts(policy.decide(allValidation)))
    }

    @Test func pausedSchedulingWaitsAndSaysWhy() {
        #expect(policy.decide(facts(paused: true, new: 100)) == .wait(reason: "scheduled training is paused"))
        guard case .wait(let reason) = policy.decide(facts(new: 3)) else { Issue.record("should wait"); return }
        #expect(reason.contains("3 new labelled scans") && reason.contains("10"))
    }
}

@Suite struct PromotionRuleTests {
    typealias S = PromotionRule.Score

    @Test func firstModelIsPromoted() {
        #expect(PromotionRule.decide(candidate: S(accuracy: 0.5, loss: 0.7), active: nil).promote)
    }

    @Test func notWorseMeansHigherAccuracyOrSameAccuracyAndNoHigherLoss() {
        let active = S(accuracy: 0.8, loss: 0.5)
        #expect(PromotionRule.decide(candidate: S(accuracy: 0.85, loss: 0.9), active: active).promote)
        #expect(PromotionRule.decide(candidate: S(accuracy: 0.8, loss: 0.4), active: active).promote)
        let worseLoss = PromotionRule.decide(candidate: S(accuracy: 0.8, loss: 0.6), active: active)
        #expect(!worseLoss.promote)
        #expect(worseLoss.note.contains("not promoted") && worseLoss.note.contains("0.6"))
        #expect(!PromotionRule.decide(candidate: S(accuracy: 0.75, loss: 0.1), active: active).promote)
    }

    @Test func nonFiniteMetricsAreNeverPromoted() {
        #expect(!PromotionRule.decide(candidate: S(accuracy: 1, loss: .nan), active: nil).promote)
    }
}

@Suite struct DiskSpaceTests {
    let mb: Int64 = 1 << 20

    @Test func eachChangeIsReportedOnce() {
        var space = DiskSpace()
        #expect(space.observe(free: 200 * mb, reserve: 128 * mb) == (true, .none))
        #expect(space.observe(free: 100 * mb, reserve: 128 * mb) == (false, .ranOut(free: 100 * mb, needed: 128 * mb, afterFailedWrite: false)))
        #expect(space.shortAt == 100 * mb)
        #expect(space.observe(free: 90 * mb, reserve: 128 * mb) == (false, .none), "still short: said once")
        #expect(space.shortAt == 90 * mb)
        #expect(space.observe(free: 130 * mb, reserve: 128 * mb) == (true, .cameBack(free: 130 * mb)))
        #expect(space.shortAt == nil)
        #expect(space.observe(free: 130 * mb, reserve: 128 * mb) == (true, .none))
    }

    @Test func aFailedWriteRaisesTheBarUntilRoomReturns() {
        var space = DiskSpace()
        // 300 MB free, 8 MB reserve, yet a write failed: wait for 300 + max(8, 16) MB.
        space.writeFailed(free: 300 * mb, reserve: 8 * mb)
        #expect(space.observe(free: 310 * mb, reserve: 8 * mb) == (false, .ranOut(free: 310 * mb, needed: 316 * mb, afterFailedWrite: true)))
        #expect(space.observe(free: 316 * mb, reserve: 8 * mb) == (true, .cameBack(free: 316 * mb)))
        #expect(space.floor == 0, "the raised bar goes once room is back")
        #expect(space.observe(free: 20 * mb, reserve: 8 * mb) == (true, .none))
        // A reserve larger than the minimum margin is the margin.
        space.writeFailed(free: 50 * mb, reserve: 128 * mb)
        #expect(space.floor == 178 * mb)
        // Two failures: the higher bar holds.
        space.writeFailed(free: 10 * mb, reserve: 8 * mb)
        #expect(space.floor == 178 * mb)
    }
}

@Suite struct LabelingQueueTests {
    @Test func theLeastCertainComeFirst() {
        let candidates = [
            LabelingQueue.Candidate(scanID: 1, probabilityAbnormal: 0.95, predictedAt: 1),
            LabelingQueue.Candidate(scanID: 2, probabilityAbnormal: 0.52, predictedAt: 5),
            LabelingQueue.Candidate(scanID: 3, probabilityAbnormal: 0.10, predictedAt: 2),
            LabelingQueue.Candidate(scanID: 4, probabilityAbnormal: 0.45, predictedAt: 3),
            LabelingQueue.Candidate(scanID: 5, probabilityAbnormal: 0.55, predictedAt: 4),  // as uncertain as 4, newer
        ]
        #expect(LabelingQueue.next(candidates, limit: 10).map(\.scanID) == [2, 4, 5, 3, 1])
        #expect(LabelingQueue.next(candidates, limit: 2).map(\.scanID) == [2, 4])
        #expect(LabelingQueue.next(candidates, limit: 0).isEmpty && LabelingQueue.next([], limit: 5).isEmpty)
        #expect(abs(candidates[1].uncertainty - 0.96) < 1e-12 && abs(candidates[0].uncertainty - 0.1) < 1e-12)
    }
}
