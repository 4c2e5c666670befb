import ArgumentParser
import Daemon
import Version

/// `ctd`: the daemon's executable and its offline tools. Commands only parse and delegate.
///
/// Exit codes: 0 success; 1 the input could not be processed (bad scan, unwritable output);
/// 64 usage error (bad flags or values).
@main
struct CTD: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "ctd",
        abstract: "Turns a folder of chest CT scans into a continuously retrained pneumonia classifier.",
        discussion: "`ctd run` is the daemon; the other commands are offline tools: inspect and preprocess NIfTI scans, make synthetic data, train and predict, run benchmarks.",
        version: Release.version,
        subcommands: [Run.self, Inspect.self, Preprocess.self, Synth.self, Train.self, Predict.self, Evaluate.self, Export.self, ModelCommand.self, Bench.self])
}
