import ArgumentParser
import AtomicFile
import Benchmarks
import Model
import Foundation
import Preprocess
import Synth

struct Bench: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Release-mode benchmarks (medians of several runs, with the reference measured in the same run).",
        subcommands: [PreprocessBench.self, EngineBench.self, ReportBench.self, SaliencyBench.self])

    struct PreprocessBench: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "preprocess",
            abstract: "Time read+inflate, window, rotation and resize of one scan against nibabel + scipy.")

        @Option(help: "The scan (default: a synthetic 512×512×64 int16 .nii.gz).") var file: String?
        @Option(help: "Timed runs (after one warm-up).") var runs = 5
        @Option(help: "A python with nibabel + scipy, e.g. \"$(scripts/reference_venv.sh)\".") var python: String?
        @Option(help: "The reference script.") var referenceScript = "scripts/reference_preprocess.py"
        @Flag(help: "Print the report as JSON on the last line.") var json = false

        func validate() throws {
            guard (1...100).contains(runs) else { throw ValidationError("--runs must be between 1 and 100") }
        }

        func run() throws {
            let scan = try file ?? Self.syntheticScan()
            let benchmark = PreprocessBenchmark(file: scan, runs: runs, python: python, referenceScript: referenceScript)
            let report: PreprocessBenchmark.Report
            do { report = try benchmark.run() } catch { throw fail(error) }
            print(report.table)
            if json {
                let encoder = JSONEncoder()
                encoder.outputFormatting = [.sortedKeys]
                print(String(decoding: try encoder.encode(report), as: UTF8.self))
            }
        }

        /// A realistic 512×512×64 int16 scan, written once to the temporary folder.
        static func syntheticScan() throws -> String {
            let path = NSTemporaryDirectory() + "ctd-bench-512x512x64.nii.gz"
            if FileManager.default.fileExists(atPath: path) { return path }
            let phantom = PhantomGenerator(seed: 7).make(index: 0, abnormal: true, slices: 64)
            try AtomicFile.write(try SyntheticDataset.encode(phantom, level: 6), to: path)
            return path
        }
    }

    struct ReportBench: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "report",
            abstract: "Time from a 512×512×64 scan landing in the inbox to its report in the outbox (the daemon in this process, model loaded).")

        @Option(help: "Timed requests (after one warm-up).") var runs = 5
        @Option(help: "The settle time in seconds (watch.settle).") var settle = 0.5
        @Option(help: "The model's precision: auto (bf16 where the CPU multiplies it natively, else f32), f32 or bf16.") var precision: PrecisionSetting = .auto
        @Flag(help: "Time the requests while a training run is in progress.") var whileTraining = false

        func validate() throws {
            guard (1...100).contains(runs) else { throw ValidationError("--runs must be between 1 and 100") }
            guard settle >= 0 && settle <= 60 else { throw ValidationError("--settle must be between 0 and 60 seconds") }
            _ = try resolvedPrecision(precision)
        }

        func run() throws {
            do {
                print(try ReportLatencyBenchmark(runs: runs, settle: settle, precision: try resolvedPrecision(precision).precision,
                                                 whileTraining: whileTraining).run().table)
            } catch {
                throw fail(error)
            }
        }
    }

    struct SaliencyBench: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "saliency",
            abstract: "How much of a model's saliency map (Grad-CAM, as in its reports) falls on the lesions of synthetic abnormal scans.",
            discussion: "Prints each scan's share of the map inside its lesion mask grown by --dilation voxels, and the share an even spread over the lungs would give.")

        @Option(help: "A run folder (uses its best.safetensors) or a checkpoint file.") var model: String
        @Option(help: "Abnormal scans to explain.") var scans = 20
        @Option(help: "Their severities, as a range (1-4) or a list (2,3).") var severity = "2,2,2,3"
        @Option(help: "Seed of the synthetic scans (pick one the model was not trained on).") var seed: UInt64 = 1001
        @Option(help: "Voxels (on the model's grid) the lesion masks are grown by.") var dilation = 5
        @Option(help: "A folder to write each scan's report picture into (the map over the slices it is highest on).") var pictures: String?
        @Flag(help: "Print the report as JSON on the last line.") var json = false

        func validate() throws {
            guard (1...1000).contains(scans) else { throw ValidationError("--scans must be between 1 and 1000") }
            guard (0...64).contains(dilation) else { throw ValidationError("--dilation must be between 0 and 64") }
            guard Severity.abnormal(severity) != nil else {
                throw ValidationError("--severity \(severity): give severities 1 to 4, as a range (1-4) or a list (2,3)")
            }
        }

        func run() throws {
            var benchmark = SaliencyLocalisation(severities: Severity.abnormal(severity)!, scans: scans, seed: seed, dilation: dilation)
            benchmark.pictures = pictures
            let report: SaliencyLocalisation.Report
            do {
                if let pictures { try FileManager.default.createDirectory(atPath: pictures, withIntermediateDirectories: true) }
                report = try benchmark.run(model: model)
            } catch { throw fail(error) }
            print(report.table)
            if json {
                let encoder = JSONEncoder()
                encoder.outputFormatting = [.sortedKeys]
                print(String(decoding: try encoder.encode(report), as: UTF8.self))
            }
        }
    }

    struct EngineBench: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "engine",
            abstract: "Time a training step (forward + backward + Adam) and one scan's prediction at 128×128×64, batch 2.")

        @Option(help: "Precision of the convolutions and activations: auto (bf16 where the CPU multiplies it natively, else f32), f32 or bf16.") var precision: PrecisionSetting = .auto
        @Option(help: "Timed training steps (after one warm-up).") var steps = 5
        @Option(help: "Repeat the measurement (ours, then TensorFlow's) this many times and report medians: a shared machine's speed drifts from minute to minute.") var rounds = 1
        @Option(help: "A python with TensorFlow, e.g. \"$(scripts/tf_venv.sh)\", to measure the reference in the same run.") var python: String?
        @Option(help: "The reference script.") var referenceScript = "scripts/reference_model.py"
        @Option(help: "TensorFlow's convolutions: on (oneDNN), off (Eigen), or default: what TensorFlow picks on a real CPU of this tier (oneDNN only with AVX512_BF16 or AMX, as it does not see ONEDNN_MAX_CPU_ISA).")
        var referenceOnednn: ReferenceOneDNN = .default

        enum ReferenceOneDNN: String, ExpressibleByArgument { case on, off, `default` }
        @Flag(help: "Print the report as one JSON object on the last line.") var json = false

        func validate() throws {
            guard (1...1000).contains(steps) else { throw ValidationError("--steps must be between 1 and 1000") }
            guard (1...50).contains(rounds) else { throw ValidationError("--rounds must be between 1 and 50") }
            _ = try resolvedPrecision(precision)
        }

        func run() throws {
            let report: EngineBenchmark.Report
            do {
                var benchmark = EngineBenchmark(precision: try resolvedPrecision(precision), steps: steps, rounds: rounds, python: python, referenceScript: referenceScript)
                benchmark.referenceOneDNN = referenceOnednn == .default ? nil : referenceOnednn == .on
                report = try benchmark
                    .run { line in FileHandle.standardError.write(Data((line + "\n").utf8)) }
            } catch {
                throw fail(error)
            }
            print(report.table)
            if json {
                let encoder = JSONEncoder()
                encoder.outputFormatting = [.sortedKeys]
                print(String(decoding: try encoder.encode(report), as: UTF8.self))
            }
        }
    }
}

/// The precision to benchmark on this CPU; a choice it cannot run is a usage error (exit 64).
private func resolvedPrecision(_ setting: PrecisionSetting) throws -> ResolvedPrecision {
    switch setting.resolved() {
    case .success(let resolved): return resolved
    case .failure(let error): throw refuse("--precision: \(error)")
    }
}
