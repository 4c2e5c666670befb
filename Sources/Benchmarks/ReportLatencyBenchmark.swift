import AtomicFile
import Catalog
import Daemon
import Foundation
import Logging
import Model
import Preprocess
import Synth
import Training

/// Issue 5's target: a report within 1 s of a 512×512×64 scan landing in the inbox, with the
/// model loaded, on this 2-core machine. Runs the daemon in this process on a temporary state
/// folder with an (untrained: the time does not depend on the weights) model at the configured
/// size, renames scans into the inbox one at a time and times until outbox/<name>.json appears.
/// With `whileTraining`, a training run on synthetic labelled scans runs meanwhile.
public struct ReportLatencyBenchmark {
    public var runs: Int
    public var settle: Double
    public var precision: Precision
    public var whileTraining: Bool

    public init(runs: Int, settle: Double, precision: Precision, whileTraining: Bool) {
        (self.runs, self.settle, self.precision, self.whileTraining) = (runs, settle, precision, whileTraining)
    }

    public struct Report: Codable, Sendable {
        public var runs: Int
        public var settleSeconds: Double
        public var whileTraining: Bool
        /// Landing (rename into the inbox) to outbox/<name>.json, seconds.
        public var latencies: [Double]
        public var medianSeconds: Double
        public var medianPredictMilliseconds: Double
        public var medianAfterSettleSeconds: Double

        public var table: String {
            let list = latencies.map { String(format: "%.3f", $0) }.joined(separator: " ")
            return """
                report latency, 512×512×64 int16 .nii.gz → outbox JSON + PNG (model 128×128×64 loaded\(whileTraining ? ", training running" : ""))
                  runs                          \(runs) (\(list) s)
                  median landing → report       \(String(format: "%.3f", medianSeconds)) s   (target ≤ 1 s)
                  of which settle time          \(String(format: "%.3f", settleSeconds)) s
                  median after settling         \(String(format: "%.3f", medianAfterSettleSeconds)) s (hash, read, preprocess, predict, write)
                  median forward pass           \(String(format: "%.1f", medianPredictMilliseconds)) ms
                """
        }
    }

    public func run() throws -> Report {
        let root = NSTemporaryDirectory() + "ctd-bench-latency-" + UUID().uuidString
        defer { try? FileManager.default.removeItem(atPath: root) }
        var config = DaemonConfig()
        config.stateDirectory = root
        config.settleSeconds = settle
        config.training.precision = PrecisionSetting(rawValue: precision.rawValue)!
        config.retrain = .init(minNewLabels: 1_000_000, interval: 1e9, minPerClass: 2)
        let logger = Logger(label: "bench") { SystemdLogHandler(label: $0, level: .warning) }
        let daemon = try Daemon(config: config, logger: logger)
        try installModel(daemon: daemon, config: config)
        let thread = Thread { try? daemon.run() }
        thread.start()
        defer {
            daemon.stop()
            while !thread.isFinished { usleep(10_000) }
        }
        guard waitFor(30, { daemon.activeRunID != nil }) else { throw DaemonError(reason: "the benchmark model did not load") }
        let generator = PhantomGenerator(seed: 11)
        if whileTraining {
            // Labelled scans (fewer slices: they only need to exist), then a run that outlasts the timing.
            for index in 0..<6 {
                for abnormal in [false, true] {
                    let bytes = try SyntheticDataset.encode(generator.make(index: 100 + index, abnormal: abnormal, slices: 40), level: 1)
                    try land(bytes, as: "\(abnormal ? "CT-23" : "CT-0")/train-\(index).nii.gz", root: root)
                }
            }
            guard waitFor(120, { (try? daemon.catalog.labelledScans(key: config.training.preprocessing.key).count) == 12 }) else {
                throw DaemonError(reason: "the training scans were not ingested")
            }
            daemon.requestRetrain()
            guard waitFor(60, { daemon.isTraining }) else { throw DaemonError(reason: "training did not start") }
            Thread.sleep(forTimeInterval: 3)
        }
        var latencies: [Double] = [], predict: [Double] = [], afterSettle: [Double] = []
        for index in 0..<(runs + 1) {
            let bytes = try SyntheticDataset.encode(generator.make(index: index, abnormal: index % 2 == 1, slices: 64), level: 6)
            let name = "request-\(index)"
            var start = Date()
            try land(bytes, as: name + ".nii.gz", root: root) { start = Date() }
            let report = root + "/outbox/" + name + ".json"
            guard waitFor(60, { FileManager.default.fileExists(atPath: report) }) else {
                throw DaemonError(reason: "no report for \(name) within 60 s")
            }
            let seconds = Date().timeIntervalSince(start)
            guard index > 0 else { continue }  // the first one warms up oneDNN's kernels
            latencies.append(seconds)
            let object = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: report))) as? [String: Any]
            let timings = object?["timings"] as? [String: Any]
            predict.append(timings?["predict_ms"] as? Double ?? .nan)
            afterSettle.append(timings?["seconds_since_arrival"] as? Double ?? .nan)
        }
        return Report(runs: runs, settleSeconds: settle, whileTraining: whileTraining, latencies: latencies,
                      medianSeconds: median(latencies), medianPredictMilliseconds: median(predict),
                      medianAfterSettleSeconds: median(afterSettle))
    }

    /// Written beside the inbox, then renamed in: the moment of landing is the rename.
    private func land(_ bytes: [UInt8], as relative: String, root: String, landing: () -> Void = {}) throws {
        let staging = root + "/staging-" + UUID().uuidString
        try AtomicFile.write(bytes, to: staging)
        let target = root + "/inbox/" + relative
        try FileManager.default.createDirectory(atPath: (target as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
        landing()
        guard rename(staging, target) == 0 else { throw DaemonError(reason: "cannot move a scan into \(target)") }
    }

    private func installModel(daemon: Daemon, config: DaemonConfig) throws {
        let architecture = try config.training.architecture
        let folder = daemon.folders.models + "/bench-initial"
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        let preprocessing = String(decoding: try JSONEncoder().encode(config.training.preprocessing), as: UTF8.self)
        let checkpoint = Checkpoint(architecture: architecture, parameters: .initial(for: architecture, seed: 1),
                                    metadata: ["run_id": "bench-initial", "precision": precision.rawValue, "preprocessing": preprocessing])
        try checkpoint.write(to: folder + "/best.safetensors")
        let catalog = daemon.catalog
        try catalog.startRun(id: "bench-initial", folder: folder, reason: "benchmark", trainCount: 0, validationCount: 0, now: 0)
        try catalog.endRun(id: "bench-initial", state: .finished, bestEpoch: 1, valLoss: 0.69, valAcc: 0.5, valAUC: nil, error: nil, now: 0)
        try catalog.activate(runID: "bench-initial")
    }

    private func waitFor(_ seconds: Double, _ condition: () -> Bool) -> Bool {
        let deadline = Date().addingTimeInterval(seconds)
        while Date() < deadline {
            if condition() { return true }
            usleep(2_000)
        }
        return condition()
    }
}
