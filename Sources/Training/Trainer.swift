import Dispatch
import Engine
import Foundation
import Model
import Preprocess
import SeededRandom
import Version

/// Why a run could not start or continue; `description` is one sentence with what to do.
public struct TrainingError: Error, CustomStringConvertible {
    public let reason: String
    public init(reason: String) { self.reason = reason }
    public var description: String { reason }
}

/// The seed's `model.fit` as a program: shuffled, augmented batches; validation after every epoch;
/// the best checkpoint by validation loss; early stopping on validation accuracy; a resumable
/// last checkpoint after every epoch. Deterministic for a given seed: shuffling, augmentation and
/// dropout are seeded per epoch, so a resumed epoch repeats exactly.
public final class Trainer {
    public let config: TrainingConfig
    public let folder: RunFolder
    private let scans: [PreparedScan]
    private let skipped: [(LabelledScan, String)]
    private let progress: TrainingProgress
    private let cancellation: CancellationFlag
    private let preprocessSeconds: Double
    /// Every step and validation batch runs through it, so queued predictions go first.
    private let gate: ComputeGate
    /// Chosen by the caller (the daemon names its runs); a new one otherwise.
    private let runID: String?

    public init(config: TrainingConfig, folder: RunFolder, scans: [PreparedScan], skipped: [(LabelledScan, String)] = [],
                preprocessSeconds: Double = 0, progress: TrainingProgress, cancellation: CancellationFlag = CancellationFlag(),
                gate: ComputeGate = ComputeGate(), runID: String? = nil) {
        self.gate = gate
        self.runID = runID
        self.config = config
        self.folder = folder
        self.scans = scans
        self.skipped = skipped
        self.progress = progress
        self.cancellation = cancellation
        self.preprocessSeconds = preprocessSeconds
    }

    /// Trains to the end (or early stop, or cancellation) and returns the final run.json.
    /// With `resume`, continues an interrupted run in `folder` from its last completed epoch.
    public func run(resume: Bool) throws -> RunReport {
        if let problem = config.problems.first { throw TrainingError(reason: "invalid configuration: \(problem)") }
        switch folder.state {
        case .ended(let status):
            throw TrainingError(reason: "\(folder.path) holds a run that already ended (\(status)); choose a new --out folder")
        case .interrupted where !resume:
            throw TrainingError(reason: "\(folder.path) holds an interrupted run: pass --resume to continue it, or choose a new --out folder")
        case .empty where resume:
            throw TrainingError(reason: "\(folder.path) holds no run to resume (no last.safetensors)")
        default: break
        }
        let train = scans.filter { !$0.isValidation }, validation = scans.filter(\.isValidation)
        guard train.count >= config.batchSize else {
            throw TrainingError(reason: "only \(train.count) training scans: need at least one batch of \(config.batchSize)")
        }
        guard !validation.isEmpty else { throw TrainingError(reason: "no validation scans: add scans (about 30 % of each class is held out)") }
        for scanClass in ScanClass.allCases where !validation.contains(where: { $0.scan.label == scanClass.rawValue }) {
            // The split is by content hash so that it never moves; on very little data a class can miss out.
            progress.note("warning: the validation set holds no \(scanClass) scans (\(validation.count) scans in all); val_auc is undefined until more data arrives")
        }

        let architecture = try config.architecture
        let compute: ResolvedPrecision
        switch config.precision.resolved() {
        case .success(let resolved): compute = resolved
        case .failure(let error): throw TrainingError(reason: error.description)
        }
        progress.note("Precision \(compute.reason) (oneDNN \(Engine.libraryVersion) on \(compute.isa.name))")
        let network = try Network(architecture: architecture, batchSize: config.batchSize, trainable: true,
                                  precision: compute.precision, seed: config.seed)
        network.adamSettings = config.adam
        var history: [EpochRecord] = []
        var stopping = EarlyStopping(patience: config.patience)
        var report = makeReport(train: train, validation: validation, compute: compute)
        if resume {
            let checkpoint = try Checkpoint.read(from: folder.last)
            let state = try ResumeState(checkpoint.metadata)
            guard state.config == config else {
                throw TrainingError(reason: "the interrupted run in \(folder.path) used different settings; resume it without changing flags or config")
            }
            try network.load(checkpoint.parameters)
            guard let optimizer = checkpoint.optimizer else { throw TrainingError(reason: "\(folder.last) has no optimizer state to resume from") }
            try network.restoreOptimizer(optimizer)
            history = state.history
            stopping = state.stopping
            report.runID = state.runID
            report.startedAt = state.startedAt
            report.calibration = try? Checkpoint.read(from: folder.best).metadata["calibration"].flatMap(Self.calibrationReport)
            progress.note("Resuming \(state.runID) after epoch \(history.count) (optimizer step \(optimizer.step))")
            progress.resumed(history: history)
        } else {
            try folder.create()
            try network.load(.initial(for: architecture, seed: config.seed))
            network.startRunningStatistics()
        }

        let validationLabels = validation.map { Float($0.scan.label) }
        let trainStart = DispatchTime.now()
        // A run interrupted between its early-stop decision and its final run.json ends here.
        var status: RunReport.Status = stopping.shouldStop ? .stoppedEarly : .finished
        for epoch in stride(from: history.count + 1, through: config.epochs, by: 1) where status == .finished {
            guard !cancellation.isCancelled else { status = .cancelled; break }
            guard let (record, calibration) = try runEpoch(epoch, network: network, train: train, validation: validation,
                                                           validationLabels: validationLabels) else {
                status = .cancelled
                break
            }
            history.append(record)
            let decision = stopping.record(epoch: epoch, validationLoss: record.validationLoss, validationAccuracy: record.validationAccuracy)
            let parameters = try network.parameters()
            var metadata = checkpointMetadata(runID: report.runID, record: record, compute: compute)
            if decision.saveBest {
                var best = metadata
                if let calibration {
                    best["calibration"] = try Self.json(calibration)
                    report.calibration = calibration
                }
                try folder.write(checkpoint: Checkpoint(architecture: architecture, parameters: parameters, metadata: best), to: folder.best)
            }
            metadata["resume"] = try ResumeState(runID: report.runID, startedAt: report.startedAt, config: config,
                                                 history: history, stopping: stopping).encoded()
            try folder.write(checkpoint: Checkpoint(architecture: architecture, parameters: parameters,
                                                    optimizer: try network.optimizerSnapshot(), metadata: metadata), to: folder.last)
            progress.epochFinished(record, of: config.epochs, savedBest: decision.saveBest)
            update(&report, history: history, stopping: stopping, status: .running, trainingSeconds: seconds(since: trainStart))
            try folder.write(history: history)
            try writeCurves(history)
            try folder.write(report: report)
            if decision.stop {
                progress.note("Early stop: val_acc has not improved for \(config.patience) epochs (best val_loss at epoch \(stopping.bestEpoch ?? 0))")
                status = .stoppedEarly
                break
            }
        }
        if status == .cancelled, cancellation.isSuspended { status = .running }
        update(&report, history: history, stopping: stopping, status: status, trainingSeconds: seconds(since: trainStart))
        try folder.write(report: report)
        return report
    }

    /// One epoch: shuffled, augmented training batches, then precise BatchNorm statistics, then
    /// validation and the Platt scaling fitted on it. Nil when cancelled mid-epoch (the partial
    /// epoch is not recorded; a resume repeats it).
    private func runEpoch(_ epoch: Int, network: Network, train: [PreparedScan], validation: [PreparedScan],
                          validationLabels: [Float]) throws -> (EpochRecord, CalibrationReport?)? {
        let epochStart = DispatchTime.now()
        let epochSeed = config.seed ^ (UInt64(epoch) &* 0x9E37_79B9_7F4A_7C15)
        var shuffler = SeededGenerator(seed: epochSeed)
        var angles = SeededGenerator(seed: epochSeed ^ 0xA096_0A09)
        network.reseedDropout(epochSeed)
        let order = Array(train.indices).shuffled(using: &shuffler)
        let steps = order.count / config.batchSize
        progress.epochStarted(epoch: epoch, of: config.epochs, steps: steps)
        var lossSum = 0.0, correct = 0, seen = 0
        var computeSeconds = 0.0, augmentationSeconds = 0.0
        for step in 0..<steps {
            if cancellation.isCancelled { return nil }
            let augmentStart = DispatchTime.now()
            let batch = order[(step * config.batchSize)..<((step + 1) * config.batchSize)]
            let batchAngles = batch.map { _ in config.augmentationAngles.isEmpty ? 0 : config.augmentationAngles.randomElement(using: &angles)! }
            // (Reading the batch's tensors counts as augmentation time: both prepare the batch.)
            let inputs = Augmentation.batch(try batch.map { try train[$0].input() }, angles: batchAngles,
                                            nx: config.width, ny: config.height, nz: config.depth)
            let labels = batch.map { Float(train[$0].scan.label) }
            augmentationSeconds += seconds(since: augmentStart)
            let computeStart = DispatchTime.now()
            let (loss, logits) = try gate.background { try network.trainStep(inputs: inputs, labels: labels) }
            computeSeconds += seconds(since: computeStart)
            lossSum += loss * Double(labels.count)
            correct += zip(logits, labels).filter { ($0 > 0) == ($1 > 0.5) }.count
            seen += labels.count
            progress.stepFinished(step: step + 1, of: steps, loss: lossSum / Double(seen), accuracy: Double(correct) / Double(seen),
                                  elapsed: seconds(since: epochStart))
        }
        let validationStart = DispatchTime.now()
        let recalibration = config.recalibrationSample(labels: train.map(\.scan.label))
        if !recalibration.isEmpty {
            // A seeded sample of the training set (the same population every epoch, both classes),
            // not augmented; a batch at a time, so predictions waiting at the gate go in between.
            network.beginRecalibration()
            for start in stride(from: 0, to: recalibration.count, by: config.batchSize) {
                if cancellation.isCancelled { network.finishRecalibration(); return nil }
                let inputs = try recalibration[start..<(start + config.batchSize)].flatMap { try train[$0].input() }
                try gate.background { try network.accumulateStatistics(inputs) }
            }
            network.finishRecalibration()
        }
        let recalibrationSeconds = seconds(since: validationStart)
        var logits: [Float] = []
        for start in stride(from: 0, to: validation.count, by: config.batchSize) {
            let inputs = try validation[start..<min(start + config.batchSize, validation.count)].flatMap { try $0.input() }
            logits += try gate.background { try network.logits(for: inputs) }
        }
        let metrics = ClassificationMetrics(logits: logits, labels: validationLabels)
        let calibration = CalibrationReport.choose(logits: logits, labels: validationLabels, epoch: epoch)
        let validationSeconds = seconds(since: validationStart)
        let total = seconds(since: epochStart)
        var record = EpochRecord(epoch: epoch, loss: lossSum / Double(max(seen, 1)), accuracy: Double(correct) / Double(max(seen, 1)),
                                 validationLoss: metrics.loss, validationAccuracy: metrics.accuracy, validationAUC: metrics.auc,
                                 learningRate: config.adam.learningRate(atStep: max(0, network.optimizerStep - 1)),
                                 seconds: total, msPerStep: (computeSeconds + augmentationSeconds) / Double(max(steps, 1)) * 1000,
                                 computeSeconds: computeSeconds, augmentationSeconds: augmentationSeconds, validationSeconds: validationSeconds)
        record.validationBestAccuracy = metrics.bestAccuracy
        record.validationBestThreshold = metrics.bestThreshold
        record.calibratedValidationLoss = calibration?.after.loss
        record.calibratedValidationAccuracy = calibration?.after.accuracy
        record.validationECE = calibration?.before.ece
        record.calibratedValidationECE = calibration?.after.ece
        record.recalibrationSeconds = recalibrationSeconds
        return (record, calibration)
    }

    static func json(_ calibration: CalibrationReport) throws -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        return String(decoding: try encoder.encode(calibration), as: UTF8.self)
    }

    static func calibrationReport(_ text: String) -> CalibrationReport? {
        try? JSONDecoder().decode(CalibrationReport.self, from: Data(text.utf8))
    }

    /// Metadata every checkpoint of the run carries: what `ctd predict` needs to use it alone.
    private func checkpointMetadata(runID: String, record: EpochRecord, compute: ResolvedPrecision) -> [String: String] {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        var metadata = [
            "run_id": runID, "epoch": String(record.epoch), "precision": compute.precision.rawValue,
            "precision_reason": compute.reason, "cpu_isa": compute.isa.name,
            "val_loss": "\(record.validationLoss)", "val_acc": "\(record.validationAccuracy)",
            "created": ISO8601DateFormatter().string(from: Date()),
        ]
        if let auc = record.validationAUC { metadata["val_auc"] = "\(auc)" }
        if let data = try? encoder.encode(config.preprocessing) { metadata["preprocessing"] = String(decoding: data, as: UTF8.self) }
        return metadata
    }

    private func writeCurves(_ history: [EpochRecord]) throws {
        try CurvesWriter.write(history, to: folder.curves)
    }

    private func makeReport(train: [PreparedScan], validation: [PreparedScan], compute: ResolvedPrecision) -> RunReport {
        var counts = RunReport.DataCounts()
        counts.trainNormal = train.filter { $0.scan.label == 0 }.count
        counts.trainAbnormal = train.count - counts.trainNormal
        counts.validationNormal = validation.filter { $0.scan.label == 0 }.count
        counts.validationAbnormal = validation.count - counts.validationNormal
        let now = ISO8601DateFormatter().string(from: Date())
        var timings = RunReport.Timings()
        timings.preprocessSeconds = preprocessSeconds
        return RunReport(
            runID: runID ?? Self.newRunID(), status: .running, config: config, data: counts,
            split: scans.map { RunReport.SplitEntry(file: $0.scan.path, hash: $0.scan.hash, label: $0.scan.label, side: $0.isValidation ? .validation : .train) },
            skipped: skipped.map { RunReport.SkippedScan(file: $0.0.path, reason: $0.1) },
            epochsCompleted: 0, bestEpoch: nil, best: nil, last: nil, timings: timings,
            software: ["ctd": Release.version, "onednn": Engine.libraryVersion, "precision": compute.precision.rawValue,
                       "precision_reason": compute.reason, "cpu_isa": compute.isa.name],
            startedAt: now, updatedAt: now)
    }

    private func update(_ report: inout RunReport, history: [EpochRecord], stopping: EarlyStopping, status: RunReport.Status, trainingSeconds: Double) {
        report.status = status
        report.epochsCompleted = history.count
        report.bestEpoch = stopping.bestEpoch
        report.best = stopping.bestEpoch.flatMap { best in history.first { $0.epoch == best } }
        report.last = history.last
        report.timings.trainingSeconds = trainingSeconds
        let epochTotal = history.reduce(0) { $0 + $1.seconds }
        report.timings.meanEpochSeconds = history.isEmpty ? 0 : epochTotal / Double(history.count)
        if epochTotal > 0 {
            report.timings.computeShare = history.reduce(0) { $0 + $1.computeSeconds } / epochTotal
            report.timings.augmentationShare = history.reduce(0) { $0 + $1.augmentationSeconds } / epochTotal
            report.timings.validationShare = history.reduce(0) { $0 + $1.validationSeconds } / epochTotal
        }
        report.updatedAt = ISO8601DateFormatter().string(from: Date())
    }

    public static func newRunID() -> String {
        let formatter = DateFormatter()
        formatter.dateFormat = "yyyyMMdd-HHmmss"
        formatter.timeZone = TimeZone(identifier: "UTC")
        return "run-\(formatter.string(from: Date()))-\(String(UInt16.random(in: 0...UInt16.max), radix: 16))"
    }

    private func seconds(since start: DispatchTime) -> Double {
        Double(DispatchTime.now().uptimeNanoseconds - start.uptimeNanoseconds) / 1e9
    }
}


/// What a resumed run needs besides weights and optimizer: its identity, settings, history and
/// early-stopping counters, kept as JSON in last.safetensors's metadata.
struct ResumeState: Codable {
    var runID: String
    var startedAt: String
    var config: TrainingConfig
    var history: [EpochRecord]
    var stopping: EarlyStopping

    init(runID: String, startedAt: String, config: TrainingConfig, history: [EpochRecord], stopping: EarlyStopping) {
        self.runID = runID
        self.startedAt = startedAt
        self.config = config
        self.history = history
        self.stopping = stopping
    }

    init(_ metadata: [String: String]) throws {
        guard let text = metadata["resume"] else { throw TrainingError(reason: "last.safetensors has no resume state (was it written by ctd train?)") }
        self = try JSONDecoder().decode(ResumeState.self, from: Data(text.utf8))
    }

    func encoded() throws -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        encoder.nonConformingFloatEncodingStrategy = .convertToString(positiveInfinity: "Infinity", negativeInfinity: "-Infinity", nan: "NaN")
        return String(decoding: try encoder.encode(self), as: UTF8.self)
    }
}
