import ArgumentParser
import Foundation
import Synth

struct Synth: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Write synthetic chest-CT phantoms (int16 HU .nii.gz, 512×512×30–70) into DIR/CT-0 (normal) and DIR/CT-23 (abnormal, with ground-glass opacities).")

    @Option(help: "The folder to write into (CT-0/ and CT-23/ are created inside).")
    var out: String

    @Option(help: "How many normal scans.") var normal = 10
    @Option(help: "How many abnormal scans.") var abnormal = 10
    @Option(help: "Seed: the same seed always gives the same scans.") var seed: UInt64 = 1
    @Option(help: "Scans generated in parallel.") var workers = ProcessInfo.processInfo.activeProcessorCount

    func validate() throws {
        guard normal >= 0, abnormal >= 0, normal + abnormal > 0 else { throw ValidationError("ask for at least one scan (--normal/--abnormal)") }
        guard normal + abnormal <= 100_000 else { throw ValidationError("at most 100000 scans at a time") }
        guard workers >= 1 else { throw ValidationError("--workers must be at least 1") }
    }

    func run() throws {
        let dataset = SyntheticDataset(seed: seed, normal: normal, abnormal: abnormal)
        let started = Date()
        do {
            let paths = try dataset.write(to: out, workers: workers)
            print("wrote \(paths.count) scans to \(out) (\(normal) in CT-0, \(abnormal) in CT-23) in \(String(format: "%.1f", Date().timeIntervalSince(started))) s")
        } catch {
            throw fail(error)
        }
    }
}
