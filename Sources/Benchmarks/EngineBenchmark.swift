import Engine
import Foundation
import Model
import Training

/// Times the seed's network on oneDNN: a full training step (forward, backward, Adam) at the
/// training batch size and one scan's prediction, layer by layer, with peak memory — and, when a
/// Python with TensorFlow is given, the same model in Keras measured in the same run.
public struct EngineBenchmark {
    public var architecture: Architecture
    public var batchSize: Int
    /// The precision to measure, resolved for this CPU (with the reason the report repeats).
    public var precision: ResolvedPrecision
    public var steps: Int
    /// Repetitions of the whole measurement (ours, then TensorFlow's when given), so that a ratio
    /// comes from the same minutes of a machine whose speed drifts: the report gives medians.
    public var rounds: Int
    /// A python with tensorflow + keras (scripts/tf_venv.sh), or nil to skip the reference.
    public var python: String?
    public var referenceScript: String
    /// Whether TensorFlow runs its convolutions on oneDNN (`TF_ENABLE_ONEDNN_OPTS`); nil: as
    /// TensorFlow decides by itself on a CPU of this tier (`tensorFlowUsesOneDNN(on:)`).
    public var referenceOneDNN: Bool?

    public init(architecture: Architecture = .seed, batchSize: Int = 2, precision: ResolvedPrecision = PrecisionSetting.automatic(), steps: Int, rounds: Int = 1,
                python: String?, referenceScript: String) {
        self.architecture = architecture
        self.batchSize = batchSize
        self.precision = precision
        self.steps = steps
        self.rounds = rounds
        self.python = python
        self.referenceScript = referenceScript
    }

    /// TensorFlow turns its oneDNN kernels on by default only on CPUs with AVX512_VNNI, BF16 or
    /// AMX; on AVX2 servers (and AVX-512 ones before Cascade Lake) it runs Eigen's. It reads the
    /// CPU itself, not ONEDNN_MAX_CPU_ISA, so a capped run must say which a real CPU of the tier gets.
    public static func tensorFlowUsesOneDNN(on isa: InstructionSet) -> Bool { isa.hasNativeBF16 }

    public struct Report: Codable, Sendable {
        public var inputSize: [Int]
        public var batchSize: Int
        public var precision: String
        /// Why that precision (`PrecisionSetting.resolve`), and the tier oneDNN runs here.
        public var precisionReason: String
        public var cpuISA: String
        public var steps: Int
        public var trainStepMs: Double
        public var firstStepMs: Double
        public var trainGFLOPs: Double
        public var predictMs: Double
        public var predictGFLOPs: Double
        public var peakRssMb: Double
        /// The training augmentation (rotate + clip) of one batch, and its share of a step.
        public var augmentationMs: Double
        public var augmentationShare: Double
        /// One epoch of the seed's run at this size (140 training scans, 60 validation scans), from
        /// the medians above: steps + augmentation, then one forward pass per validation scan. Tensors
        /// come from the cache in memory, so loading adds nothing measurable per epoch.
        public var seedEpochSeconds: Double = 0

        mutating func estimateSeedEpoch() {
            let steps = Double(Self.seedTrainingScans / batchSize)
            seedEpochSeconds = steps * (trainStepMs + augmentationMs) / 1000 + Double(Self.seedValidationScans) * predictMs / 1000
        }
        public static let seedTrainingScans = 140, seedValidationScans = 60
        /// Median ms per stage of a training step, in execution order.
        public var stages: [Stage]
        public var oneDNNVersion: String
        /// The implementations oneDNN chose for the training network, by operation.
        public var implementations: [Implementation] = []
        /// Every primitive of the training and prediction networks that runs one of oneDNN's
        /// reference kernels: each is an error (a tier ctd is not fast on).
        public var referenceKernels: [Implementation] = []

        public struct Implementation: Codable, Sendable {
            public var operation: String
            public var implementation: String
        }
        /// TensorFlow's medians over the rounds.
        public var reference: Reference?
        /// Each round's medians, with TensorFlow's from the same round.
        public var rounds: [Round] = []

        public struct Round: Codable, Sendable {
            public var trainStepMs: Double
            public var predictMs: Double
            public var reference: Reference?
            public var trainStepRatio: Double?
            public var predictRatio: Double?

            init(trainStepMs: Double, predictMs: Double, reference: Reference?) {
                (self.trainStepMs, self.predictMs, self.reference) = (trainStepMs, predictMs, reference)
                trainStepRatio = reference.map { trainStepMs / $0.trainStepMs }
                predictRatio = reference.map { predictMs / $0.predictMs }
            }

            private enum CodingKeys: String, CodingKey {
                case trainStepMs = "train_step_ms", predictMs = "predict_ms", reference
                case trainStepRatio = "train_step_ratio", predictRatio = "predict_ratio"
            }
        }

        /// The medians of the rounds' ratios to TensorFlow (each from the same minutes).
        public var trainStepRatio: Double?
        public var predictRatio: Double?

        public struct Stage: Codable, Sendable {
            public var name: String
            public var ms: Double
        }

        /// TensorFlow's figures from scripts/reference_model.py bench, same run.
        public struct Reference: Codable, Sendable {
            public var trainStepMs: Double
            public var predictMs: Double
            public var peakRssMb: Double
            public var versions: String
            /// TensorFlow's convolutions on oneDNN (TF_ENABLE_ONEDNN_OPTS=1) or on Eigen.
            public var oneDNN: Bool?
            enum CodingKeys: String, CodingKey {
                case trainStepMs = "train_step_ms", predictMs = "predict_ms", peakRssMb = "peak_rss_mb", versions, oneDNN = "onednn"
            }
        }

        private enum CodingKeys: String, CodingKey {
            case inputSize = "input_size", batchSize = "batch_size", precision, steps
            case precisionReason = "precision_reason", cpuISA = "cpu_isa", referenceKernels = "reference_kernels"
            case trainStepMs = "train_step_ms", firstStepMs = "first_step_ms", trainGFLOPs = "train_gflops_per_s"
            case predictMs = "predict_ms", predictGFLOPs = "predict_gflops_per_s", peakRssMb = "peak_rss_mb"
            case augmentationMs = "augmentation_ms", augmentationShare = "augmentation_share", seedEpochSeconds = "seed_epoch_seconds"
            case stages, oneDNNVersion = "onednn_version", implementations, reference, rounds
            case trainStepRatio = "train_step_ratio", predictRatio = "predict_ratio"
        }
    }

    /// - Parameter roundFinished: called with a one-line summary after each round.
    public func run(roundFinished: (String) -> Void = { _ in }) throws -> Report {
        let sample = architecture.width * architecture.height * architecture.depth
        var generator = SystemRandomNumberGenerator()
        let inputs = (0..<(batchSize * sample)).map { _ in Float.random(in: 0..<1, using: &generator) }
        let labels = (0..<batchSize).map { Float($0 % 2) }

        var measured: [Round] = []
        var firstStep = 0.0
        var stageSamples: [String: [Double]] = [:], stageOrder: [String] = []
        var references: [Report.Reference] = []
        var implementations: [Report.Implementation] = [], referenceKernels: [Report.Implementation] = []
        for index in 0..<rounds {
            let ours = try measureOnce(inputs: inputs, labels: labels)
            if index == 0 {
                (firstStep, stageOrder, implementations, referenceKernels) = (ours.firstStep, ours.stageOrder, ours.implementations, ours.referenceKernels)
            }
            for (name, samples) in ours.stages { stageSamples[name, default: []] += samples }
            let reference = try python.map { try runReference(python: $0) }
            if let reference { references.append(reference) }
            let round = Report.Round(trainStepMs: ours.step * 1000, predictMs: ours.predict * 1000, reference: reference)
            measured.append(round)
            var line = String(format: "round %d/%d: training step %.1f ms, predict %.1f ms", index + 1, rounds, round.trainStepMs, round.predictMs)
            if let reference, let ratio = round.trainStepRatio, let predictRatio = round.predictRatio {
                line += String(format: "; TensorFlow %.1f ms, %.1f ms → ratios %.2f, %.2f", reference.trainStepMs, reference.predictMs, ratio, predictRatio)
            }
            roundFinished(line)
        }
        let step = median(measured.map(\.trainStepMs)) / 1000, predict = median(measured.map(\.predictMs)) / 1000
        let augment = try measureAugmentation(inputs: inputs)
        var report = Report(
            inputSize: [architecture.width, architecture.height, architecture.depth], batchSize: batchSize, precision: precision.precision.rawValue,
            precisionReason: precision.reason, cpuISA: precision.isa.name + (InstructionSet.capSetting.map { " (\($0))" } ?? ""),
            steps: steps, trainStepMs: step * 1000, firstStepMs: firstStep * 1000,
            trainGFLOPs: architecture.trainingFLOPsPerSample * Double(batchSize) / step / 1e9,
            predictMs: predict * 1000, predictGFLOPs: architecture.forwardFLOPs / predict / 1e9,
            peakRssMb: Double(ProcessMemory.peak()) / 1_048_576,
            augmentationMs: augment * 1000, augmentationShare: augment / step,
            stages: stageOrder.map { Report.Stage(name: $0, ms: median(stageSamples[$0] ?? [0]) * 1000) },
            oneDNNVersion: EngineInfo.version, implementations: implementations, referenceKernels: referenceKernels,
            reference: nil, rounds: measured)
        report.estimateSeedEpoch()
        if let first = references.first {
            report.reference = Report.Reference(trainStepMs: median(references.map(\.trainStepMs)), predictMs: median(references.map(\.predictMs)),
                                                peakRssMb: references.map(\.peakRssMb).max() ?? 0, versions: first.versions, oneDNN: first.oneDNN)
            report.trainStepRatio = median(measured.compactMap(\.trainStepRatio))
            report.predictRatio = median(measured.compactMap(\.predictRatio))
        }
        return report
    }

    typealias Round = Report.Round

    /// One round of our own figures: prediction first, with its own network, so that the
    /// training network's memory does not count; then the training steps, stage by stage.
    private func measureOnce(inputs: [Float], labels: [Float]) throws
        -> (step: Double, firstStep: Double, predict: Double, stages: [String: [Double]], stageOrder: [String],
            implementations: [Report.Implementation], referenceKernels: [Report.Implementation]) {
        let sample = architecture.width * architecture.height * architecture.depth
        var predictTimes: [Double] = []
        var created: [Engine.Implementation] = []
        do {
            let predictor = try Network(architecture: architecture, batchSize: 1, trainable: false, precision: precision.precision)
            created += predictor.createdImplementations
            try predictor.load(.initial(for: architecture, seed: 1))
            let scan = Array(inputs.prefix(sample))
            _ = try predictor.logits(for: scan)
            for _ in 0..<max(3, steps) { predictTimes.append(try timed { try predictor.logits(for: scan) }.seconds) }
        }

        let network = try Network(architecture: architecture, batchSize: batchSize, trainable: true, precision: precision.precision, seed: 1)
        created += network.createdImplementations
        try network.load(.initial(for: architecture, seed: 1))
        let first = try timed { try network.trainStep(inputs: inputs, labels: labels) }.seconds
        let profiler = Profiler()
        network.profiler = profiler
        var stepTimes: [Double] = []
        var stageSamples: [String: [Double]] = [:]
        for _ in 0..<steps {
            profiler.reset()
            stepTimes.append(try timed { try network.trainStep(inputs: inputs, labels: labels) }.seconds)
            for (name, seconds) in profiler.seconds { stageSamples[name, default: []].append(seconds) }
        }
        return (median(stepTimes), first, median(predictTimes), stageSamples, profiler.order,
                network.implementations.map { Report.Implementation(operation: $0.operation, implementation: $0.implementation) },
                created.filter(\.isReference).map { Report.Implementation(operation: $0.operation, implementation: $0.name) })
    }

    /// The training augmentation of one batch (rotate + clip), median seconds.
    private func measureAugmentation(inputs: [Float]) throws -> Double {
        let sample = architecture.width * architecture.height * architecture.depth
        var augmentTimes: [Double] = []
        // A training run builds each angle's interpolation kernel once; time the steady state.
        _ = Augmentation.batch(Array(repeating: Array(inputs[0..<sample]), count: 6), angles: [-20, -10, -5, 5, 10, 20],
                               nx: architecture.width, ny: architecture.height, nz: architecture.depth)
        for index in 0..<max(3, steps) {
            // As the trainer does it: the batch's samples rotated side by side, each by an angle of the seed's set.
            let samples = (0..<batchSize).map { Array(inputs[($0 * sample)..<(($0 + 1) * sample)]) }
            let angles = (0..<batchSize).map { [-20.0, -10, -5, 5, 10, 20][(index + $0) % 6] }
            augmentTimes.append(timed {
                _ = Augmentation.batch(samples, angles: angles, nx: architecture.width, ny: architecture.height, nz: architecture.depth)
            }.seconds)
        }
        return median(augmentTimes)
    }

    private func runReference(python: String) throws -> Report.Reference {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: python)
        process.arguments = [referenceScript, "bench", "--steps", String(steps),
                             "--size", String(architecture.width), String(architecture.height), String(architecture.depth),
                             "--batch", String(batchSize)]
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = FileHandle.nullDevice
        let oneDNN = referenceOneDNN ?? Self.tensorFlowUsesOneDNN(on: precision.isa)
        process.environment = ProcessInfo.processInfo.environment.merging(["TF_ENABLE_ONEDNN_OPTS": oneDNN ? "1" : "0"]) { $1 }
        try process.run()
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        guard process.terminationStatus == 0,
              let line = String(decoding: data, as: UTF8.self).split(separator: "\n").last,
              let object = try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any],
              let train = object["train_step_ms"] as? Double, let predict = object["predict_ms"] as? Double else {
            throw BenchmarkError(reason: "the TensorFlow reference (\(python) \(referenceScript) bench) failed with status \(process.terminationStatus)")
        }
        return Report.Reference(trainStepMs: train, predictMs: predict, peakRssMb: object["peak_rss_mb"] as? Double ?? 0,
                                versions: "TensorFlow \(object["tf_version"] ?? "?"), Keras \(object["keras_version"] ?? "?")", oneDNN: oneDNN)
    }
}


enum EngineInfo {
    static var version: String { Engine.libraryVersion }
}

extension EngineBenchmark.Report {
    public var table: String {
        var lines = [
            "engine benchmark: seed CNN \(inputSize.map(String.init).joined(separator: "×")), batch \(batchSize), \(precision), oneDNN \(oneDNNVersion) on \(cpuISA), \(steps) steps, medians",
            "precision: \(precisionReason)",
            String(format: "training step  %8.1f ms  %6.1f GFLOP/s   (first step %.0f ms)", trainStepMs, trainGFLOPs, firstStepMs),
            String(format: "predict 1 scan %8.1f ms  %6.1f GFLOP/s", predictMs, predictGFLOPs),
            String(format: "peak RSS       %8.0f MB", peakRssMb),
            String(format: "augmentation   %8.1f ms per batch = %.1f %% of a step (target < 3 %%)", augmentationMs, 100 * augmentationShare),
            String(format: "seed epoch     %8.1f s  (%d training scans: %.1f s of steps + %.1f s of augmentation; %d validation scans: %.1f s; the seed's GPU run: 26 s)",
                   seedEpochSeconds, Self.seedTrainingScans, Double(Self.seedTrainingScans / batchSize) * trainStepMs / 1000,
                   Double(Self.seedTrainingScans / batchSize) * augmentationMs / 1000, Self.seedValidationScans, Double(Self.seedValidationScans) * predictMs / 1000),
            "stage                                 ms",
        ]
        for stage in stages { lines.append(stage.name.padding(toLength: 34, withPad: " ", startingAt: 0) + String(format: "%8.1f", stage.ms)) }
        lines.append("implementations (training network)")
        for item in implementations {
            let error = Engine.Implementation.isReference(item.implementation) ? "   ← ERROR: oneDNN's reference kernel" : ""
            lines.append("  " + item.operation.padding(toLength: 44, withPad: " ", startingAt: 0) + item.implementation + error)
        }
        if referenceKernels.isEmpty {
            lines.append("reference kernels: none (every primitive of the training and prediction networks is JIT-compiled)")
        } else {
            lines.append("ERROR: \(referenceKernels.count) primitive(s) run oneDNN's reference kernel, often 100× slower:")
            for item in referenceKernels { lines.append("  \(item.operation): \(item.implementation)") }
        }
        if let reference, let trainStepRatio, let predictRatio {
            let spread = { (ratios: [Double]) in ratios.count > 1 ? String(format: ", rounds %.2f–%.2f", ratios.min()!, ratios.max()!) : "" }
            lines.append("reference (\(reference.versions), convolutions on \(reference.oneDNN == false ? "Eigen (TF_ENABLE_ONEDNN_OPTS=0, its default on this tier)" : "oneDNN"), same run, \(rounds.count) round\(rounds.count == 1 ? "" : "s") alternating with ours; medians):")
            lines.append(String(format: "  training step %.1f ms → ratio %.2f (target ≤ 0.50%@)", reference.trainStepMs, trainStepRatio,
                                spread(rounds.compactMap(\.trainStepRatio))))
            lines.append(String(format: "  predict       %.1f ms → ratio %.2f (target ≤ 0.40%@)", reference.predictMs, predictRatio,
                                spread(rounds.compactMap(\.predictRatio))))
            lines.append(String(format: "  peak RSS      %.0f MB (ctd target ≤ 1400 MB)", reference.peakRssMb))
        } else {
            lines.append("reference not measured (pass --python \"$(scripts/tf_venv.sh)\"); figures measured here earlier: TF 1124 ms per step, 238 ms per scan, 2.26 GB")
        }
        return lines.joined(separator: "\n")
    }
}
