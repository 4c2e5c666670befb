import ControlClient
import ControlProtocol
import Testing

@Suite struct FormattingTests {
    @Test func statusSaysWhatAPersonNeeds() {
        let run = RunSummary(id: "run-1", state: .finished, reason: "requested", startedAt: "t0", endedAt: "t1", trainCount: 10,
                             validationCount: 4, bestEpoch: 3, valLoss: 0.25, valAcc: 0.9, valAUC: nil, active: true, promotionNote: nil, error: nil)
        let training = TrainingInfo(runID: "run-2", epoch: 3, epochs: 10, step: 5, steps: 20, secondsPerEpoch: 30, etaSeconds: 222, lastValAcc: 0.75)
        let text = Formatting.status(StatusInfo(version: "0.2.0", upSince: "t", configFile: "/etc/ctd/ctd.yaml", stateDirectory: "/var/lib/ctd",
                                                watching: "watching /var/lib/ctd/inbox", paused: false,
                                                queues: ["ingest": ["queued": 3, "done": 9]], scans: ["normal/cached": 5, "abnormal/rejected": 1],
                                                activeModel: run, training: training,
                                                problems: ["training run run-0 failed: oneDNN: create convolution forward: not implemented"],
                                                compute: ComputeInfo(cpuISA: "AVX2", oneDNN: "2.6.3", precision: "f32",
                                                                     precisionReason: "auto: f32, since oneDNN has no bf16 convolutions on AVX2")))
        #expect(text.contains("scans         normal 5, abnormal 0 (+1 rejected), unlabelled 0"))
        #expect(text.contains("ingest: 3 queued; predict: empty"))
        #expect(text.contains("active model  run-1, trained t1: val_acc 0.9000, val_loss 0.2500, val_auc -"))
        #expect(text.contains("run-2: epoch 3/10, step 5/20, last val_acc 0.7500, at most 3 min 42 s to go"))
        #expect(text.contains("compute       oneDNN 2.6.3 on AVX2; precision auto: f32, since oneDNN has no bf16 convolutions on AVX2"))
        #expect(text.contains("PROBLEM       training run run-0 failed: oneDNN"))
    }

    @Test func runsShowWhyARunFailed() {
        let failed = RunSummary(id: "run-9", state: .failed, reason: "requested", startedAt: "t0", endedAt: "t1", trainCount: 10,
                                validationCount: 4, bestEpoch: nil, valLoss: nil, valAcc: nil, valAUC: nil, active: false, promotionNote: nil,
                                error: "only 1 training scans: need at least one batch of 2")
        #expect(Formatting.runs([failed]).hasSuffix("\n  run-9 failed: only 1 training scans: need at least one batch of 2"))
    }

    @Test func tablesAlignTheirColumns() {
        let scans = [ScanSummary(id: 7, hash: String(repeating: "a", count: 64), name: "x.nii", label: ScanLabel.none, state: .rejected, size: 3,
                                 arrivedAt: "t", error: "x.nii: not a NIfTI file")]
        let text = Formatting.scans(scans)
        let lines = text.split(separator: "\n")
        #expect(lines[0].hasPrefix("ID  LABEL  STATE"))
        #expect(lines[1].hasPrefix("7   none   rejected  aaaaaaaaaaaa"))
        #expect(lines.last == "  7: x.nii: not a NIfTI file")
        #expect(Formatting.scans([]) == "no scans")
        #expect(Formatting.duration(3725) == "1 h 2 min")
    }

    @Test func nextToLabelSaysWhereToCopyEachScan() {
        let suggestions = LabelingSuggestions(
            suggestions: [.init(scanID: 7, hash: "ab", name: "ward/x.nii.gz", probabilityAbnormal: 0.51, runID: "r2", byActiveModel: true, archived: "/s/archive/ward/x.nii.gz"),
                          .init(scanID: 3, hash: "cd", name: "ward/y\n.nii.gz", probabilityAbnormal: 0.3, runID: "r1", byActiveModel: false, archived: "/s/archive/ward/y.nii.gz")],
            normalFolder: "/s/inbox/CT-0", abnormalFolder: "/s/inbox/CT-23", unpredicted: 2)
        let text = Formatting.nextToLabel(suggestions)
        let lines = text.split(separator: "\n")
        #expect(lines[0].hasPrefix("SCAN") && lines[1].hasPrefix("7") && lines[1].contains("0.510") && lines[2].contains("0.300*"), "\(text)")
        #expect(text.contains("ward/y\\n.nii.gz"), "control characters escaped")
        #expect(text.contains("copy its archived file into /s/inbox/CT-0/ (normal) or /s/inbox/CT-23/ (abnormal)"))
        #expect(text.contains("* predicted by an earlier model") && text.contains("2 more unlabelled scans have no prediction yet"))
        #expect(Formatting.nextToLabel(.init(suggestions: [], normalFolder: "", abnormalFolder: "", unpredicted: 0)) == "no unlabelled scans")
    }
}
