import ControlProtocol
import Foundation
import Model
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
    public var decision: Decision
    public var sentences: [String]
    public var warnings: [String]
    public var timings: Timings
    /// Where the model looked (see `Saliency`); the picture overlays it.
    public var saliency: SaliencySummary?
    public var arrivedAt: String
    public var reportedAt: String
    public var picture: String

    enum CodingKeys: String, CodingKey {
        case file, hash, scan, model, threshold, decision, sentences, warnings, timings, picture, logit, calibrated, saliency
        case fileID = "file_id", probabilityAbnormal = "probability_abnormal", probabilityNormal = "probability_normal"
        case arrivedAt = "arrived_at", reportedAt = "reported_at"
    }

    public func json() throws -> [UInt8] {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        encoder.nonConformingFloatEncodingStrategy = .convertToString(positiveInfinity: "Infinity", negativeInfinity: "-Infinity", nan: "NaN")
        return Array(try encoder.encode(self)) + [0x0a]
    }

    /// The seed's figure: axial slices of the preprocessed scan, the prediction in the caption;
    /// with a saliency map, the slices where it is highest (in order through the scan), with the
    /// map over them.
    public static func montage(_ grid: VoxelGrid, caption: String, saliency: Saliency? = nil) throws -> [UInt8] {
        let rows = 4, columns = min(10, max(1, grid.nz / 4))
        guard let saliency else {
            return try SliceMontage.png(voxels: grid.values, nx: grid.nx, ny: grid.ny, nz: grid.nz, rows: rows, columns: columns, caption: caption)
        }
        let slices = saliency.slicesByShare.prefix(rows * columns).sorted()
        return try SliceMontage.png(voxels: grid.values, nx: grid.nx, ny: grid.ny, nz: grid.nz, rows: rows, columns: columns, caption: caption,
                                    saliency: saliency.grid.values, slices: slices)
    }

    public static func caption(decision: Decision, probabilityAbnormal: Double, file: String) -> String {
        let confidence = decision == .abnormal ? probabilityAbnormal : 1 - probabilityAbnormal
        return String(format: "%@ %.1f%% - %@", decision.rawValue, 100 * confidence, file)
    }

    public static func timestamp(_ seconds: Double) -> String {
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        return formatter.string(from: Date(timeIntervalSince1970: seconds))
    }
}


/// The report's account of where the model looked.
public struct SaliencySummary: Codable, Sendable, Equatable {
    /// What made the map, e.g. "grad-cam on block 3 of 4 (its convolution), kept to the body".
    public var method: String
    /// The grid the map was computed on (x, y, z), before it was upsampled to the model's input.
    public var blockGrid: [Int]
    /// Axial slices of the model's input (z, 0 = first) holding the most saliency, highest first.
    public var topSlices: [Int]
    /// Share of the saliency inside the lungs (estimated from the scan); absent when there is none.
    public var insideLungs: Double?

    public init(_ saliency: Saliency, slices: Int = 5) {
        method = "grad-cam on block \(saliency.block + 1) of \(Architecture.filters.count) (its convolution), kept to the body"
        blockGrid = saliency.blockGrid
        topSlices = Array(saliency.slicesByShare.prefix(slices))
        insideLungs = saliency.insideLungs
    }

    enum CodingKeys: String, CodingKey {
        case method, blockGrid = "block_grid", topSlices = "top_slices", insideLungs = "inside_lungs"
    }
}
