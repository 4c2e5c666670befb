import ArgumentParser
import Foundation
import Model
import Training

struct Train: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Train the seed's classifier on a folder of labelled scans (CT-0/ normal, CT-23/ abnormal).",
        discussion: """
        Writes best.safetensors, last.safetensors, history.csv, run.json and curves.png into --out. \
        A run killed at any moment continues with --resume; a finished run is never overwritten. \
        Settings come from the seed's defaults, then --config (JSON), then these flags.
        """)

    @Option(help: "The folder with CT-0/ and CT-23/.") var data: String
    @Option(help: "The run folder to write.") var out: String
    @Option(help: "A JSON file of training settings (keys as in run.json's config).") var config: String?
    @Option(help: "Where preprocessed tensors are cached between runs.") var cache: String?
    @Option(help: "Model input width (x).") var width: Int?
    @Option(help: "Model input height (y).") var height: Int?
    @Option(help: "Model input depth (z).") var depth: Int?
    @Option(help: "Maximum epochs.") var epochs: Int?
    @Option(help: "Stop after this many epochs without a better val_acc.") var patience: Int?
    @Option(help: "auto (bf16 where the CPU multiplies it natively, else f32), f32 or bf16 (mixed precision).") var precision: PrecisionSetting?
    @Option(help: "Seed for initial weights, shuffling, augmentation and dropout.") var seed: UInt64?
    @Option(help: "Training scans to re-estimate BatchNorm statistics on before each validation (default: a fifth of the training set, 16 to 256; 0: the seed's moving averages only).") var batchnormRecalibration: Int?
    @Option(help: "Run at lower CPU priority (nice increment, 0–19).") var nice: Int32 = 0
    @Flag(help: "Continue the interrupted run in --out.") var resume = false

    func validate() throws {
        guard (0...19).contains(nice) else { throw ValidationError("--nice must be between 0 and 19") }
        let settings = try settings()
        if let problem = settings.problems.first { throw ValidationError(problem) }
        if case .failure(let error) = settings.precision.resolved() { throw refuse("--precision: \(error)") }
    }

    func settings() throws -> TrainingConfig {
        var settings = TrainingConfig()
        if let config {
            guard let data = FileManager.default.contents(atPath: config) else { throw ValidationError("cannot read --config \(config)") }
            do { settings = try JSONDecoder().decode(TrainingConfig.self, from: data) } catch {
                throw ValidationError("--config \(config) is not a valid settings file: \(error)")
            }
        }
        if let width { settings.width = width }
        if let height { settings.height = height }
        if let depth { settings.depth = depth }
        if let epochs { settings.epochs = epochs }
        if let patience { settings.patience = patience }
        if let precision { settings.precision = precision }
        if let seed { settings.seed = seed }
        if let batchnormRecalibration { settings.batchNormRecalibration = batchnormRecalibration }
        return settings
    }

    func run() throws {
        if nice > 0 { ProcessPriority.lower(by: nice) }
        do {
            let report = try TrainingRun.start(data: data, out: out, config: try settings(), cache: cache, resume: resume,
                                               progress: TerminalProgress())
            print("Run \(report.runID) \(report.status.rawValue) after \(report.epochsCompleted) epochs; best epoch \(report.bestEpoch.map(String.init) ?? "-") → \(out)")
        } catch {
            throw fail(error)
        }
    }
}

struct Predict: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Classify scans with a trained model: the seed's two sentences per file, or JSON lines.")

    @Option(help: "A run folder (uses its best.safetensors) or a checkpoint file.") var model: String
    @Argument(help: "The .nii/.nii.gz files to classify.") var files: [String]
    @Flag(help: "Print one JSON object per file.") var json = false

    func run() throws {
        let predictor: Predictor
        do { predictor = try Predictor(model: model) } catch { throw fail(error) }
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        var failed = false
        for file in files {
            do {
                let prediction = try predictor.predict(file: file)
                if json {
                    print(String(decoding: try encoder.encode(prediction), as: UTF8.self))
                } else {
                    print(file)
                    prediction.sentences.forEach { print($0) }
                }
            } catch {
                _ = fail(error)
                failed = true
            }
        }
        if failed { throw ExitCode(1) }
    }
}

struct Evaluate: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "How a model does on a labelled folder (DIR/CT-0 normal, DIR/CT-23 abnormal): accuracy at 0.5, AUC, calibration.",
        discussion: "For scans the model has not seen, e.g. from another generator: ctd synth --generator independent.")

    @Option(help: "A run folder (uses its best.safetensors) or a checkpoint file.") var model: String
    @Option(help: "The labelled folder.") var data: String
    @Flag(help: "Print the figures as one JSON object.") var json = false

    func run() throws {
        let predictor: Predictor
        let scans: [LabelledScan]
        do {
            predictor = try Predictor(model: model)
            scans = try LabelledScans.discover(in: data)
        } catch { throw fail(error) }
        var probabilities: [Double] = [], labels: [Int] = []
        for scan in scans {
            do {
                probabilities.append(try predictor.predict(file: scan.path).probabilityAbnormal)
                labels.append(scan.label)
            } catch {
                _ = fail(error)  // said, and left out of the figures
            }
        }
        let result = Evaluation(probabilities: probabilities, labels: labels)
        if json {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.sortedKeys]
            print(String(decoding: try encoder.encode(result), as: UTF8.self))
        } else {
            func figure(_ value: Double?) -> String { value.map { String(format: "%.3f", $0) } ?? "-" }
            print("\(result.scans) scans (\(result.normal) normal, \(result.abnormal) abnormal) from \(data)")
            print("accuracy \(figure(result.accuracy)) at 0.5 (best threshold \(figure(result.bestThresholdAccuracy))), AUC \(figure(result.auc)), "
                  + "ECE \(figure(result.ece)), Brier \(figure(result.brier)), loss \(figure(result.loss))")
        }
        if result.scans < scans.count { throw ExitCode(1) }
    }
}

extension Precision: ExpressibleByArgument {}
extension PrecisionSetting: ExpressibleByArgument {}
