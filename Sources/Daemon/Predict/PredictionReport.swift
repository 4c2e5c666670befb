import ControlProtocol
import Foundation
import Preprocess
import Reports
import Training

/// outbox/<name>.json: everything a person (or a script) needs about one answered request.
public struct PredictionReport: Codable, Sendable, Equatable {
    public struct Model: Codable, Sendable, Equatable {
        public var runID: String
        public var valLoss: Double?
        public var valAcc: Double?
        public var valAUC: Double?
        public var trainedAt: String?
        /// What the prediction computed in here, and oneDNN's CPU tier (e.g. "AVX2").
        public var precision: String?
        public var cpuISA: String?
        /// How the probability was calibrated, and how well calibrated it was on the validation set.
        public var calibration: CalibrationReport?
        enum CodingKeys: String, CodingKey {
            case runID = "run_id", valLoss = "val_loss", valAcc = "val_acc", valAUC = "val_auc", trainedAt = "trained_at"
            case precision, cpuISA = "cpu_isa", calibration
        }
    }

    public struct Timings: Codable, Sendable, Equatable {
        /// From the file's arrival (the moment it was taken from the inbox) to the report.
        public var secondsSinceArrival: Double
        public var predictMilliseconds: Double
        enum CodingKeys: String, CodingKey {
            case secondsSinceArrival = "seconds_since_arrival", predictMilliseconds = "predict_ms"
        }
    }

    public var fileID: Int64
    public var file: String
    public var hash: String
    /// The scan's header facts, as `ctd inspect --json` shows them.
    public var scan: [String: JSONValue]
    public var model: Model
    /// Calibrated on the model's validation set when `calibrated` (see `Calibration`).
    public var probabilityAbnormal: Double
    public var probabilityNormal: Double
    /// The network's raw logit, before calibration.
    public var logit: Double?
    public var calibrated: Bool?
    public var threshold: Double
    public var decision: String
    public var sentences: [String]
    public var warnings: [String]
    public var timings: Timings
    public var arrivedAt: String
    public var reportedAt: String
    public var picture: String

    enum CodingKeys: String, CodingKey {
        case file, hash, scan, model, threshold, decision, sentences, warnings, timings, picture, logit, calibrated
        case fileID = "file_id", probabilityAbnormal = "probability_abnormal", probabilityNormal = "probability_normal"
        case arrivedAt = "arrived_at", reportedAt = "reported_at"
    }

    public static func decision(probabilityAbnormal: Double, threshold: Double) -> String {
        probabilityAbnormal >= threshold ? "abnormal" : "normal"
    }

    public func json() throws -> [UInt8] {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        encoder.nonConformingFloatEncodingStrategy = .convertToString(positiveInfinity: "Infinity", negativeInfinity: "-Infinity", nan: "NaN")
        return Array(try encoder.encode(self)) + [0x0a]
    }

    /// The seed's figure: axial slices of the preprocessed scan, the prediction in the caption.
    public static func montage(_ grid: VoxelGrid, caption: String) throws -> [UInt8] {
        let rows = 4, columns = min(10, max(1, grid.nz / 4))
        return try SliceMontage.png(voxels: grid.values, nx: grid.nx, ny: grid.ny, nz: grid.nz, rows: rows, columns: columns, caption: caption)
    }

    public static func caption(decision: String, probabilityAbnormal: Double, file: String) -> String {
        let confidence = decision == "abnormal" ? probabilityAbnormal : 1 - probabilityAbnormal
        return String(format: "%@ %.1f%% - %@", decision, 100 * confidence, file)
    }

    public static func timestamp(_ seconds: Double) -> String {
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        return formatter.string(from: Date(timeIntervalSince1970: seconds))
    }
}

