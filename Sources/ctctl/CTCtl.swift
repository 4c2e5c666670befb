import ArgumentParser
import Foundation

/// `ctctl`: operates a running `ctd` over its control socket. The socket protocol is not built
/// yet, so every command says so and exits 69 (service unavailable).
@main
struct CTCtl: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "ctctl",
        abstract: "Control a running ctd daemon over its Unix socket.",
        version: "0.1.0",
        subcommands: [Status.self])

    struct Status: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Show the daemon's state.")

        @Option(help: "The control socket (default: $CTD_SOCKET, then /run/ctd/ctd.sock).")
        var socket: String?

        func run() throws {
            let path = socket ?? ProcessInfo.processInfo.environment["CTD_SOCKET"] ?? "/run/ctd/ctd.sock"
            FileHandle.standardError.write(Data("ctctl: cannot reach a daemon at \(path): the control socket is not implemented in this version of ctd\n".utf8))
            throw ExitCode(69)
        }
    }
}
