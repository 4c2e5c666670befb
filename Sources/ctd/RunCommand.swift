import ArgumentParser
import Daemon
import Foundation

/// `ctd run`: the daemon.
struct Run: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Run the daemon: watch the inbox, keep the cache, retrain, answer requests in the outbox.",
        discussion: """
            Settings come from --config FILE (YAML, see config/ctd.yaml), then CTD_* environment variables, \
            then flags, each overriding the one before: a setting key's flag replaces dots and underscores \
            with dashes (retrain.min_new_labels → --retrain-min-new-labels 5), its variable is CTD_ and the key \
            in capitals (CTD_RETRAIN_MIN_NEW_LABELS=5). SIGHUP reloads the configuration; SIGTERM stops cleanly.
            """)

    @Option(name: .long, help: "The YAML configuration file.")
    var config: String?

    @Option(name: .long, help: "The state folder (inbox/, outbox/, archive/, ...): overrides state_dir.")
    var stateDir: String?

    @Argument(parsing: .allUnrecognized, help: "Settings as flags, e.g. --model-width 64 --training-epochs 10.")
    var settings: [String] = []

    func run() async throws {
        var flags: [String: String]
        do {
            flags = try ConfigLoader.parseFlags(settings)
        } catch {
            throw ValidationError(error.description)
        }
        if let stateDir { flags["state_dir"] = stateDir }
        let status = await DaemonMain.run(loader: ConfigLoader(file: config ?? ProcessInfo.processInfo.environment["CTD_CONFIG"], flags: flags))
        if status != 0 { throw ExitCode(status) }
    }
}
