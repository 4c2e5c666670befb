import Engine
import Foundation
import Model
import NIfTI
import Preprocess

/// One scan's prediction, as `ctd predict --json` prints it.
public struct Prediction: Codable, Sendable, Equatable {
    public var file: String
    /// Calibrated when the model carries a calibration (`calibrated`), else the network's own.
    public var probabilityAbnormal: Double
    public var probabilityNormal: Double
    /// The network's raw logit, before calibration.
    public var logit: Double
    public var calibrated: Bool
    public var model: String

    /// The seed's two sentences, e.g. "This model is 32.99 percent confident that CT scan is normal".
    public var sentences: [String] {
        [(ScanClass.normal, probabilityNormal), (.abnormal, probabilityAbnormal)].map { scanClass, score in
            String(format: "This model is %.2f percent confident that CT scan is %@", 100 * score, scanClass.description)
        }
    }

    private enum CodingKeys: String, CodingKey {
        case file, logit, model, calibrated
        case probabilityAbnormal = "probability_abnormal", probabilityNormal = "probability_normal"
    }
}

/// Predicts scans with a saved model. The input size and preprocessing come from the checkpoint's
/// metadata (never from flags), so a model is always fed what it was trained on.
public final class Predictor {
    public let checkpoint: Checkpoint
    public let preprocessing: PreprocessParameters
    public let modelName: String
    /// What predictions compute in here (`inferencePrecision`).
    public let precision: Precision
    /// The Platt scaling fitted on the run's validation set, with its figures there (checkpoint
    /// metadata `calibration`); nil for a model without one (trained elsewhere, or before ctd calibrated).
    public let calibrationReport: CalibrationReport?
    public var calibration: Calibration? { calibrationReport?.calibration }
    let network: Network
    private let reader: NIfTIReader

    /// - Parameter model: a checkpoint file, or a run folder (its best.safetensors).
    public init(model: String, reader: NIfTIReader = NIfTIReader()) throws {
        var isDirectory: ObjCBool = false
        let path = FileManager.default.fileExists(atPath: model, isDirectory: &isDirectory) && isDirectory.boolValue
            ? model + "/best.safetensors" : model
        checkpoint = try Checkpoint.read(from: path)
        let architecture = checkpoint.architecture
        if let text = checkpoint.metadata["preprocessing"] {
            do {
                preprocessing = try JSONDecoder().decode(PreprocessParameters.self, from: Data(text.utf8))
            } catch {
                throw CheckpointError(file: path, reason: "metadata.preprocessing is not valid: \(error)")
            }
            guard (preprocessing.width, preprocessing.height, preprocessing.depth) == (architecture.width, architecture.height, architecture.depth) else {
                throw CheckpointError(file: path, reason: "metadata.preprocessing size does not match input_size")
            }
        } else {
            // A model trained elsewhere: the seed's preprocessing at the model's input size.
            preprocessing = PreprocessParameters(width: architecture.width, height: architecture.height, depth: architecture.depth)
        }
        let trained = checkpoint.metadata["precision"].flatMap(Precision.init(rawValue:)) ?? .f32
        precision = Self.inferencePrecision(trained: trained, on: .effective)
        network = try Network(architecture: architecture, batchSize: 1, trainable: false, precision: precision)
        try network.load(checkpoint.parameters)
        modelName = checkpoint.metadata["run_id"] ?? path
        calibrationReport = try checkpoint.metadata["calibration"].map { text in
            guard let report = Trainer.calibrationReport(text), report.slope.isFinite, report.intercept.isFinite, report.slope >= 0 else {
                throw CheckpointError(file: path, reason: "metadata.calibration is not a valid calibration (slope ≥ 0 and intercept, finite)")
            }
            return report
        }
        self.reader = reader
    }

    /// A model trained in bf16 predicts in bf16 where the CPU multiplies it natively (as its
    /// validation did); elsewhere, and for f32 models, in f32 from the same float32 weights, so a
    /// model trained on an AMX server serves on an AVX2 one.
    public static func inferencePrecision(trained: Precision, on isa: InstructionSet) -> Precision {
        trained == .bf16 && isa.hasNativeBF16 ? .bf16 : .f32
    }

    /// Reads, preprocesses and classifies one scan.
    public func predict(file: String) throws -> Prediction {
        let grid = Preprocessor(preprocessing).run(try reader.read(path: file))
        return try predict(grid, file: file)
    }

    /// The logit for one scan already in the network's layout (`ModelInput`).
    public func predict(modelInput: [Float]) throws -> Double {
        Double(try network.logits(for: modelInput)[0])
    }

    /// The probability of "abnormal" for a raw logit, calibrated when the model has a calibration.
    public func probability(logit: Double) -> Double {
        calibration?.probability(logit: logit) ?? BinaryCrossEntropy.sigmoid(logit)
    }

    /// Classifies an already preprocessed scan.
    public func predict(_ grid: VoxelGrid, file: String) throws -> Prediction {
        let logit = Double(try network.logits(for: ModelInput.values(grid))[0])
        let probability = probability(logit: logit)
        return Prediction(file: file, probabilityAbnormal: probability, probabilityNormal: 1 - probability, logit: logit,
                          calibrated: calibration != nil, model: modelName)
    }
}
