import AtomicFile
import Foundation
import Model

/// A training run's folder: best.safetensors, last.safetensors (with optimizer state), history.csv,
/// run.json and curves.png. Every file is written atomically, so a run killed at any moment leaves
/// a consistent folder that `--resume` continues from.
public struct RunFolder: Sendable {
    public let path: String

    public init(path: String) { self.path = path }

    public var best: String { path + "/best.safetensors" }
    public var last: String { path + "/last.safetensors" }
    public var history: String { path + "/history.csv" }
    public var report: String { path + "/run.json" }
    public var curves: String { path + "/curves.png" }

    public enum State: Equatable {
        /// No run here yet.
        case empty
        /// A run stopped before its end: last.safetensors exists, run.json does not say it ended.
        case interrupted
        /// A run that ended (finished, stopped early or cancelled); it is never overwritten.
        case ended(status: String)
    }

    public var state: State {
        if let data = FileManager.default.contents(atPath: report),
           let object = try? JSONSerialization.jsonObject(with: data) as? [String: Any],
           let status = object["status"] as? String, status != RunReport.Status.running.rawValue {
            return .ended(status: status)
        }
        return FileManager.default.fileExists(atPath: last) ? .interrupted : .empty
    }

    /// run.json as last written, if it is readable.
    public var savedReport: RunReport? {
        guard let data = FileManager.default.contents(atPath: report) else { return nil }
        let decoder = JSONDecoder()
        decoder.nonConformingFloatDecodingStrategy = .convertFromString(positiveInfinity: "Infinity", negativeInfinity: "-Infinity", nan: "NaN")
        return try? decoder.decode(RunReport.self, from: data)
    }

    func create() throws {
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    }

    func write(history records: [EpochRecord]) throws {
        var lines = ["epoch,loss,acc,val_loss,val_acc,val_auc,learning_rate,seconds,ms_per_step,compute_seconds,augmentation_seconds,validation_seconds,"
                     + "val_best_acc,val_best_threshold,val_loss_calibrated,val_acc_calibrated,val_ece,val_ece_calibrated,recalibration_seconds"]
        func optional(_ value: Double?) -> String { value.map { "\($0)" } ?? "" }
        for r in records {
            lines.append([String(r.epoch), "\(r.loss)", "\(r.accuracy)", "\(r.validationLoss)", "\(r.validationAccuracy)",
                          optional(r.validationAUC), "\(r.learningRate)", String(format: "%.3f", r.seconds),
                          String(format: "%.1f", r.msPerStep), String(format: "%.3f", r.computeSeconds),
                          String(format: "%.3f", r.augmentationSeconds), String(format: "%.3f", r.validationSeconds),
                          optional(r.validationBestAccuracy), optional(r.validationBestThreshold), optional(r.calibratedValidationLoss),
                          optional(r.calibratedValidationAccuracy), optional(r.validationECE), optional(r.calibratedValidationECE),
                          r.recalibrationSeconds.map { String(format: "%.3f", $0) } ?? ""].joined(separator: ","))
        }
        try AtomicFile.write(Array((lines.joined(separator: "\n") + "\n").utf8), to: history)
    }

    func write(report run: RunReport) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        encoder.nonConformingFloatEncodingStrategy = .convertToString(positiveInfinity: "Infinity", negativeInfinity: "-Infinity", nan: "NaN")
        try AtomicFile.write(Array(try encoder.encode(run)) + [0x0a], to: report)
    }

    func write(checkpoint: Checkpoint, to file: String) throws {
        try checkpoint.write(to: file)
    }
}

/// run.json: what a person (or the daemon) needs to know about a run.
public struct RunReport: Codable, Sendable {
    public enum Status: String, Codable, Sendable {
        case running, finished
        case stoppedEarly = "stopped early"
        case cancelled
    }

    public var runID: String
    public var status: Status
    public var config: TrainingConfig
    public var data: DataCounts
    public var split: [SplitEntry]
    public var skipped: [SkippedScan]
    public var epochsCompleted: Int
    public var bestEpoch: Int?
    public var best: EpochRecord?
    public var last: EpochRecord?
    public var timings: Timings
    /// The best checkpoint's Platt scaling and its effect on the validation set.
    public var calibration: CalibrationReport?
    public var software: [String: String]
    public var startedAt: String
    public var updatedAt: String

    public struct DataCounts: Codable, Sendable {
        public var trainNormal = 0, trainAbnormal = 0, validationNormal = 0, validationAbnormal = 0
        private enum CodingKeys: String, CodingKey {
            case trainNormal = "train_normal", trainAbnormal = "train_abnormal"
            case validationNormal = "validation_normal", validationAbnormal = "validation_abnormal"
        }
    }

    public struct SplitEntry: Codable, Sendable {
        public var file: String
        public var hash: String
        public var label: Int
        public var side: Side
        /// Stored as "train" or "validation".
        public enum Side: String, Codable, Sendable { case train, validation }
    }

    public struct SkippedScan: Codable, Sendable {
        public var file: String
        public var reason: String
    }

    public struct Timings: Codable, Sendable {
        public var preprocessSeconds = 0.0
        public var trainingSeconds = 0.0
        public var meanEpochSeconds = 0.0
        /// Shares of the epoch time spent in training steps, augmentation and validation.
        public var computeShare = 0.0, augmentationShare = 0.0, validationShare = 0.0
        private enum CodingKeys: String, CodingKey {
            case preprocessSeconds = "preprocess_seconds", trainingSeconds = "training_seconds"
            case meanEpochSeconds = "mean_epoch_seconds", computeShare = "compute_share"
            case augmentationShare = "augmentation_share", validationShare = "validation_share"
        }
    }

    private enum CodingKeys: String, CodingKey {
        case status, config, data, split, skipped, best, last, timings, software, calibration
        case runID = "run_id", epochsCompleted = "epochs_completed", bestEpoch = "best_epoch"
        case startedAt = "started_at", updatedAt = "updated_at"
    }
}
