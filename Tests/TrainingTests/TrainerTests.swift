import CTDTestSupport
import Engine
import Foundation
import Model
import Preprocess
import Testing
@testable import Training

/// The fit loop on small in-memory scans: it learns, writes every output, cancels cleanly and
/// refuses to overwrite or mis-resume a run.
@Suite(.serialized) struct TrainerTests {
    final class Recorder: TrainingProgress {
        var lines: [String] = []
        var steps = 0
        var onStep: ((Int) -> Void)?
        func epochStarted(epoch: Int, of epochs: Int, steps: Int) { lines.append("epoch \(epoch)") }
        func stepFinished(step: Int, of steps: Int, loss: Double, accuracy: Double, elapsed: Double) { self.steps += 1; onStep?(self.steps) }
        func epochFinished(_ record: EpochRecord, of epochs: Int, savedBest: Bool) { lines.append(TerminalProgress.epochLine(record)) }
        func note(_ text: String) { lines.append(text) }
        var resumedEpochs: [Int] = []
        func resumed(history: [EpochRecord]) { resumedEpochs = history.map(\.epoch) }
    }

    static func scans(count: Int = 24) -> [PreparedScan] {
        (0..<count).map { index in
            let abnormal = index % 2 == 1
            let hash = String(format: "%016llx", UInt64(index) &* 0x9E37_79B9_7F4A_7C15) + String(repeating: "0", count: 48)
            return PreparedScan(scan: LabelledScan(path: "memory/\(index)", label: abnormal ? 1 : 0, hash: hash),
                                grid: SmallScans.grid(index: index, abnormal: abnormal), isValidation: index < 8)
        }
    }

    static func config(epochs: Int) -> TrainingConfig {
        var config = TrainingConfig()
        (config.width, config.height, config.depth) = (48, 48, 48)
        config.epochs = epochs
        config.learningRate = 1e-3
        config.precision = .f32
        return config
    }

    @Test func learnsAndWritesEveryOutput() throws {
        let folder = TemporaryFolder()
        let run = RunFolder(path: folder.path + "/run")
        let recorder = Recorder()
        let report = try Trainer(config: Self.config(epochs: 6), folder: run, scans: Self.scans(), progress: recorder).run(resume: false)
        #expect(report.status == .finished && report.epochsCompleted == 6)
        #expect(report.data.trainNormal == 8 && report.data.trainAbnormal == 8 && report.data.validationNormal == 4)
        // Learning shows first in the ranking: for a few epochs the BatchNorm running statistics
        // (momentum 0.99) still lag, so inference-mode accuracy trails the AUC, as in Keras.
        let history = try String(contentsOfFile: run.history, encoding: .utf8)
        let bestAUC = history.split(separator: "\n").dropFirst().compactMap { Double($0.split(separator: ",", omittingEmptySubsequences: false)[5]) }.max() ?? 0
        #expect(bestAUC >= 0.9, "learned: \(recorder.lines)")
        #expect(report.last!.accuracy >= 0.75, "training accuracy: \(recorder.lines)")
        for file in [run.best, run.last, run.history, run.report, run.curves] {
            #expect(FileManager.default.fileExists(atPath: file), "\(file)")
        }
        let rows = history.split(separator: "\n")
        #expect(rows.count == 7 && rows[0].hasPrefix("epoch,loss,acc,val_loss,val_acc,val_auc"))
        #expect(rows[0].hasSuffix("val_best_acc,val_best_threshold,val_loss_calibrated,val_acc_calibrated,val_ece,val_ece_calibrated,recalibration_seconds"))
        let checkpoint = try Checkpoint.read(from: run.best)
        #expect(checkpoint.metadata["epoch"] == String(report.bestEpoch!))
        // Precise BatchNorm ran before every validation, and the best checkpoint carries the
        // calibration fitted on its epoch's validation set, as run.json does.
        let best = try #require(report.best)
        #expect((best.recalibrationSeconds ?? 0) > 0 && best.validationBestAccuracy! >= best.validationAccuracy)
        let calibration = try #require(report.calibration)
        #expect(calibration.epoch == report.bestEpoch && calibration.scans == 8)
        #expect(Trainer.calibrationReport(try #require(checkpoint.metadata["calibration"])) == calibration)
        let predictor = try Predictor(model: run.path)
        #expect(predictor.calibration == calibration.calibration)
        #expect(recorder.lines.filter { $0.contains("val_acc_calibrated") }.count == 6, "every epoch line says what a report would decide")
        #expect(checkpoint.metadata["preprocessing"] != nil && checkpoint.optimizer == nil)
        // What it computed in, why, and on which tier: in every checkpoint and in run.json.
        #expect(checkpoint.metadata["precision"] == "f32" && checkpoint.metadata["precision_reason"] == "f32 as configured")
        #expect(checkpoint.metadata["cpu_isa"] == InstructionSet.effective.name)
        #expect(report.software["cpu_isa"] == InstructionSet.effective.name && report.software["precision_reason"] == "f32 as configured")
        #expect(recorder.lines.contains { $0.contains("Precision f32 as configured") && $0.contains(InstructionSet.effective.name) })
        #expect(try Checkpoint.read(from: run.last).optimizer?.step == 6 * 8)
        #expect(run.state == .ended(status: "finished"))
        #expect(throws: TrainingError.self) { try Trainer(config: Self.config(epochs: 6), folder: run, scans: Self.scans(), progress: recorder).run(resume: false) }
    }

    @Test func cancellationStopsBetweenStepsWithoutRecordingThePartialEpoch() throws {
        let folder = TemporaryFolder()
        let run = RunFolder(path: folder.path + "/run")
        let cancellation = CancellationFlag()
        let recorder = Recorder()
        recorder.onStep = { if $0 == 11 { cancellation.cancel() } }
        let report = try Trainer(config: Self.config(epochs: 5), folder: run, scans: Self.scans(), progress: recorder,
                                 cancellation: cancellation).run(resume: false)
        #expect(report.status == .cancelled)
        #expect(report.epochsCompleted == 1, "epoch 2 was cut after 3 of 8 steps and is not recorded")
        #expect(recorder.steps == 11)
    }

    @Test func resumeNeedsTheSameSettingsAndARunToResume() throws {
        let folder = TemporaryFolder()
        let run = RunFolder(path: folder.path + "/run")
        let cancellation = CancellationFlag()
        let recorder = Recorder()
        recorder.onStep = { if $0 == 9 { cancellation.cancel() } }
        _ = try Trainer(config: Self.config(epochs: 3), folder: run, scans: Self.scans(), progress: recorder, cancellation: cancellation).run(resume: false)
        // A cancelled run has ended; simulate a kill by removing run.json's final status.
        try FileManager.default.removeItem(atPath: run.report)
        #expect(run.state == .interrupted)
        #expect(throws: TrainingError.self) { try Trainer(config: Self.config(epochs: 3), folder: run, scans: Self.scans(), progress: Recorder()).run(resume: false) }
        var changed = Self.config(epochs: 3)
        changed.learningRate = 5e-4
        #expect(throws: TrainingError.self) { try Trainer(config: changed, folder: run, scans: Self.scans(), progress: Recorder()).run(resume: true) }
        let resumed = try Trainer(config: Self.config(epochs: 3), folder: run, scans: Self.scans(), progress: Recorder()).run(resume: true)
        #expect(resumed.status == .finished && resumed.epochsCompleted == 3)
        #expect(try Checkpoint.read(from: run.last).optimizer?.step == 3 * 8)
        let empty = RunFolder(path: folder.path + "/none")
        #expect(throws: TrainingError.self) { try Trainer(config: Self.config(epochs: 3), folder: empty, scans: Self.scans(), progress: Recorder()).run(resume: true) }
    }

    @Test func aRunKilledAfterItsEarlyStopDecisionEndsOnResumeWithoutAnotherEpoch() throws {
        let folder = TemporaryFolder()
        let run = RunFolder(path: folder.path + "/run")
        var config = Self.config(epochs: 5)
        config.patience = 1
        let cancellation = CancellationFlag()
        let recorder = Recorder()
        recorder.onStep = { if $0 == 17 { cancellation.cancel() } }
        _ = try Trainer(config: config, folder: run, scans: Self.scans(), progress: recorder, cancellation: cancellation).run(resume: false)
        // The kill came after last.safetensors recorded an epoch that used up the patience, before
        // run.json said "stopped early".
        var checkpoint = try Checkpoint.read(from: run.last)
        let saved = try ResumeState(checkpoint.metadata)
        #expect(saved.history.map(\.epoch) == [1, 2])
        var stopping = EarlyStopping(patience: 1)
        _ = stopping.record(epoch: 1, validationLoss: 0.5, validationAccuracy: 0.9)
        #expect(stopping.record(epoch: 2, validationLoss: 0.6, validationAccuracy: 0.8).stop && stopping.shouldStop)
        checkpoint.metadata["resume"] = try ResumeState(runID: saved.runID, startedAt: saved.startedAt, config: config,
                                                        history: saved.history, stopping: stopping).encoded()
        try checkpoint.write(to: run.last)
        try FileManager.default.removeItem(atPath: run.report)

        let resumed = Recorder()
        let report = try Trainer(config: config, folder: run, scans: Self.scans(), progress: resumed).run(resume: true)
        #expect(report.status == .stoppedEarly && report.epochsCompleted == 2)
        #expect(resumed.steps == 0, "no further epoch was trained")
        #expect(resumed.resumedEpochs == [1, 2], "the resumed history is handed to the progress record")
        #expect(run.state == .ended(status: "stopped early"))
        #expect(run.savedReport?.status == .stoppedEarly)
    }

    /// Tensors read per batch (as from the cache) train exactly as tensors kept in memory, and are
    /// read each time they are used (so a run holds a batch of them, not all).
    @Test func scansReadPerBatchTrainExactlyAsScansInMemory() throws {
        final class Count: @unchecked Sendable {
            private let lock = NSLock()
            private var value = 0
            func add() { lock.withLock { value += 1 } }
            var total: Int { lock.withLock { value } }
        }
        let folder = TemporaryFolder()
        let inMemory = Self.scans(count: 16)
        let loads = Count()
        let lazy = inMemory.enumerated().map { index, scan in
            let abnormal = index % 2 == 1
            return PreparedScan(scan: scan.scan, isValidation: scan.isValidation) {
                loads.add()
                return SmallScans.grid(index: index, abnormal: abnormal)
            }
        }
        let config = Self.config(epochs: 2)
        let first = try Trainer(config: config, folder: RunFolder(path: folder.path + "/memory"), scans: inMemory, progress: Recorder()).run(resume: false)
        let second = try Trainer(config: config, folder: RunFolder(path: folder.path + "/lazy"), scans: lazy, progress: Recorder()).run(resume: false)
        func figures(_ r: EpochRecord?) -> [Double?] {
            [r?.loss, r?.accuracy, r?.validationLoss, r?.validationAccuracy, r?.validationAUC, r.map { Double($0.epoch) }]
        }
        #expect(figures(first.last) == figures(second.last) && figures(first.best) == figures(second.best))
        #expect(first.last != nil)
        let train = inMemory.filter { !$0.isValidation }.count, validation = inMemory.count - train
        let recalibration = config.recalibrationScans(training: train)
        #expect(recalibration == 8, "a fifth of 8 is under the floor of 16: all 8")
        #expect(loads.total == 2 * (train / config.batchSize * config.batchSize + recalibration + validation), "every use reads the tensor")
    }
}
