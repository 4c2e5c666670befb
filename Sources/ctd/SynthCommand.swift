import ArgumentParser
import Foundation
import IndependentSynth
import Synth

struct Synth: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Write synthetic chest-CT phantoms (int16 HU .nii.gz, 512×512×30–70) into DIR/CT-0 (normal) and DIR/CT-23 (abnormal: ground glass, consolidation, crazy paving).")

    @Option(help: "The folder to write into (CT-0/ and CT-23/ are created inside).")
    var out: String

    @Option(help: "How many normal scans.") var normal = 10
    @Option(help: "How many abnormal scans.") var abnormal = 10
    @Option(help: "Seed: the same seed always gives the same scans.") var seed: UInt64 = 1
    @Option(help: "Scans generated in parallel.") var workers = ProcessInfo.processInfo.activeProcessorCount
    @Option(help: ArgumentHelp("The severities of the abnormal scans, in turn, on MosMedData's scale (1: under 25 % of the lungs involved, 2: 25–50 %, 3: 50–75 %, 4: over 75 %), e.g. 1-4 or 1,2.",
                               discussion: "Without it, abnormal scans are CT-23 as in the seed: CT-2, or CT-3 one time in four."))
    var severity: String?
    @Option(help: "Which generator draws them: standard, or independent (a second generator sharing none of the first one's drawing code, to test a model on scans it was not trained to recognise).")
    var generator: GeneratorChoice = .standard

    enum GeneratorChoice: String, ExpressibleByArgument { case standard, independent }

    func validate() throws {
        guard normal >= 0, abnormal >= 0, normal + abnormal > 0 else { throw ValidationError("ask for at least one scan (--normal/--abnormal)") }
        guard normal + abnormal <= 100_000 else { throw ValidationError("at most 100000 scans at a time") }
        guard workers >= 1 else { throw ValidationError("--workers must be at least 1") }
        if let severity, Severity.abnormal(severity) == nil {
            throw ValidationError("--severity \(severity): give severities 1 to 4, as a range (1-4) or a list (2,3)")
        }
    }

    func run() throws {
        var dataset = SyntheticDataset(seed: seed, normal: normal, abnormal: abnormal,
                                       generator: generator == .independent ? IndependentGenerator(seed: seed) : nil)
        dataset.abnormalSeverities = severity.flatMap(Severity.abnormal)
        let started = Date()
        do {
            let paths = try dataset.write(to: out, workers: workers)
            print("wrote \(paths.count) scans to \(out) (\(normal) in CT-0, \(abnormal) in CT-23) in \(String(format: "%.1f", Date().timeIntervalSince(started))) s")
        } catch {
            throw fail(error)
        }
    }
}
