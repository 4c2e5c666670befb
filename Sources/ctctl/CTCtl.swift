import ArgumentParser
import ControlClient
import ControlProtocol
import Export
import Foundation
import Glibc
import UnixSocket
import Version

/// `ctctl`: operates a running `ctd` over its Unix socket. Commands only parse and delegate.
///
/// Exit codes: 0 success; 1 the daemon refused the request (unknown scan, nothing to retrain, ...);
/// 64 usage error; 69 no daemon to talk to; 75 daemon busy; 77 permission denied.
@main
struct CTCtl: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "ctctl",
        abstract: "Operate the ctd daemon: status, scans, training runs, predictions.",
        discussion: "The socket is --socket, else $CTD_SOCKET, else /run/ctd/ctd.sock (systemd), else /var/lib/ctd/ctd.sock.",
        version: Release.version,
        subcommands: [Status.self, Scans.self, Scan.self, Retrain.self, Cancel.self, Runs.self, Run.self, Promote.self, Rollback.self,
                      Predict.self, NextToLabel.self, Export.self, Import.self, Pause.self, Resume.self, Reload.self, Metrics.self])
}

struct Connection: ParsableArguments {
    @Option(help: "The daemon's control socket.") var socket: String?
    @Flag(help: "Print the result as JSON (one object per line).") var json = false

    /// Connects, runs `body`, and turns every failure into one line on stderr plus a hint.
    func run(_ body: (ControlClient) throws(ClientError) -> Void) throws {
        do {
            try body(try ControlClient(path: ControlClient.socketPath(explicit: socket)))
        } catch {
            report(error)
            throw ExitCode(error.exitCode)
        }
    }

    /// A failure: one line on stderr (and the hint); with --json also an object on stdout, so a
    /// script reading stdout sees every outcome: {"error":{"code","message","hint","exit_code"},"file"}.
    func report(_ error: ClientError, file: String? = nil) {
        var text = "ctctl: \(error.message)\n"
        if let hint = error.hint { text += "hint: \(hint)\n" }
        FileHandle.standardError.write(Data(text.utf8))
        guard json else { return }
        var details: [String: JSONValue] = ["code": .string(error.code), "message": .string(error.message), "exit_code": .number(Double(error.exitCode))]
        if let hint = error.hint { details["hint"] = .string(hint) }
        var object: [String: JSONValue] = ["error": .object(details)]
        if let file { object["file"] = .string(file) }
        if let data = try? ControlCoding.encoder.encode(JSONValue.object(object)) { Swift.print(String(decoding: data, as: UTF8.self)) }
    }

    func print(_ value: JSONValue, human: (JSONValue) throws -> String) throws(ClientError) {
        if json {
            guard let data = try? ControlCoding.encoder.encode(value) else { throw ClientError("cannot encode the result") }
            Swift.print(String(decoding: data, as: UTF8.self))
        } else {
            do {
                Swift.print(try human(value))
            } catch {
                throw ClientError("the daemon's answer has an unexpected shape: \(error)")
            }
        }
    }
}

/// Runs one simple command and prints its result.
protocol SimpleCommand: ParsableCommand {
    var connection: Connection { get }
    var command: Command { get }
    func format(_ value: JSONValue) throws -> String
}

extension SimpleCommand {
    func run() throws {
        try connection.run { client throws(ClientError) in
            try connection.print(try client.call(command), human: format)
        }
    }
}

func acknowledgement(_ value: JSONValue) throws -> String { try value.decode(Acknowledgement.self).message }

struct Status: SimpleCommand {
    static let configuration = CommandConfiguration(abstract: "Uptime, queues, scans, the active model, training in progress.")
    @OptionGroup var connection: Connection
    var command: Command { .status }
    func format(_ value: JSONValue) throws -> String { Formatting.status(try value.decode(StatusInfo.self)) }
}

struct Scans: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "List scans, newest first.")
    @OptionGroup var connection: Connection
    @Option(help: "normal, abnormal or none (unlabelled requests).") var label: String?
    @Option(help: "cached or rejected.") var state: String?
    @Option(help: "At most this many.") var limit = 100

    func run() throws {
        try connection.run { client throws(ClientError) in
            let result = try client.call(.scans, label: label, state: state, limit: limit)
            try connection.print(result) { Formatting.scans(try $0.decode([ScanSummary].self)) }
        }
    }
}

struct NextToLabel: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "next-to-label",
        abstract: "The unlabelled scans the model is least sure of, and where to copy them to label them.")
    @OptionGroup var connection: Connection
    @Option(help: "At most this many.") var limit = 20

    func run() throws {
        try connection.run { client throws(ClientError) in
            let result = try client.call(.nextToLabel, limit: limit)
            try connection.print(result) { Formatting.nextToLabel(try $0.decode(LabelingSuggestions.self)) }
        }
    }
}

struct Scan: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "What is known of one scan: its files, label, prediction, error.")
    @OptionGroup var connection: Connection
    @Argument(help: "A scan id, a hash (8 or more hex digits) or a file name.") var scan: String

    func run() throws {
        try connection.run { client throws(ClientError) in
            try connection.print(try client.call(.scan, target: scan)) { Formatting.scan(try $0.decode(ScanDetail.self)) }
        }
    }
}

struct Retrain: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Start a training run now; --wait follows it to its end.")
    @OptionGroup var connection: Connection
    @Flag(help: "Show the run's progress until it ends, then its result.") var wait = false

    func run() throws {
        let interactive = isatty(STDOUT_FILENO) == 1 && !connection.json
        try connection.run { client throws(ClientError) in
            let result = try client.call(.retrain, wait: wait) { progress in
                if connection.json {
                    if let data = try? ControlCoding.encoder.encode(progress) { print(String(decoding: data, as: UTF8.self)) }
                } else if let info = try? progress.decode(TrainingInfo.self) {
                    let line = Formatting.trainingLine(info)
                    if interactive {
                        FileHandle.standardOutput.write(Data(("\r\u{1B}[K" + line).utf8))
                    } else {
                        print(line)
                    }
                }
            }
            if interactive && wait { print("") }
            try connection.print(result) { value in
                if let run = try? value.decode(RunSummary.self) { return Formatting.runs([run]) + (run.promotionNote.map { "\n" + $0 } ?? "") }
                return try acknowledgement(value)
            }
        }
    }
}

struct Cancel: SimpleCommand {
    static let configuration = CommandConfiguration(abstract: "Stop the training run in progress.")
    @OptionGroup var connection: Connection
    var command: Command { .cancel }
    func format(_ value: JSONValue) throws -> String { try acknowledgement(value) }
}

struct Runs: SimpleCommand {
    static let configuration = CommandConfiguration(abstract: "Training runs, newest first.")
    @OptionGroup var connection: Connection
    var command: Command { .runs }
    func format(_ value: JSONValue) throws -> String { Formatting.runs(try value.decode([RunSummary].self)) }
}

struct Run: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "One training run and its per-epoch metrics.")
    @OptionGroup var connection: Connection
    @Argument(help: "The run id (see ctctl runs).") var id: String

    func run() throws {
        try connection.run { client throws(ClientError) in
            try connection.print(try client.call(.run, target: id)) { Formatting.run(try $0.decode(RunDetail.self)) }
        }
    }
}

struct Promote: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Make a finished run the active model.")
    @OptionGroup var connection: Connection
    @Argument(help: "The run id (see ctctl runs).") var id: String

    func run() throws {
        try connection.run { client throws(ClientError) in
            try connection.print(try client.call(.promote, target: id), human: acknowledgement)
        }
    }
}

struct Rollback: SimpleCommand {
    static let configuration = CommandConfiguration(abstract: "Make the previously active model active again.")
    @OptionGroup var connection: Connection
    var command: Command { .rollback }
    func format(_ value: JSONValue) throws -> String { try acknowledgement(value) }
}

struct Predict: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Predict scans that are not in the inbox, with the active model.",
        discussion: "Each file is opened here and its descriptor passed to the daemon, which reads exactly what you may read.")
    @OptionGroup var connection: Connection
    @Argument(help: "NIfTI files (.nii, .nii.gz).") var files: [String]

    func validate() throws {
        guard !files.isEmpty else { throw ValidationError("name at least one file") }
    }

    func run() throws {
        var failed = false
        try connection.run { client throws(ClientError) in
            for file in files {
                let descriptor: OwnedDescriptor
                do throws(SocketError) { descriptor = try OwnedDescriptor(openingForReading: file) } catch {
                    connection.report(ClientError("\(file): cannot open: \(String(cString: strerror(error.code)))", code: "cannot_open"), file: file)
                    failed = true
                    continue
                }
                do throws(ClientError) {
                    let result = try client.call(.predict, target: file, attaching: descriptor.raw)
                    try connection.print(result) { value in
                        let p = try value.decode(PredictResult.self)
                        return (["\(p.file):"] + p.sentences.map { "  " + $0 }).joined(separator: "\n")
                    }
                } catch where error.exitCode == 1 {
                    connection.report(error, file: file)
                    failed = true
                }
            }
        }
        if failed { throw ExitCode(1) }
    }
}

struct Pause: SimpleCommand {
    static let configuration = CommandConfiguration(abstract: "Stop taking new files and scheduled training (requests already queued are answered).")
    @OptionGroup var connection: Connection
    var command: Command { .pause }
    func format(_ value: JSONValue) throws -> String { try acknowledgement(value) }
}

struct Resume: SimpleCommand {
    static let configuration = CommandConfiguration(abstract: "Take new files and train on schedule again.")
    @OptionGroup var connection: Connection
    var command: Command { .resume }
    func format(_ value: JSONValue) throws -> String { try acknowledgement(value) }
}

struct Reload: SimpleCommand {
    static let configuration = CommandConfiguration(abstract: "Reread the configuration (as SIGHUP does).")
    @OptionGroup var connection: Connection
    var command: Command { .reload }
    func format(_ value: JSONValue) throws -> String { try acknowledgement(value) }
}

struct Metrics: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Counters and timings in the Prometheus text format.")
    @OptionGroup var connection: Connection

    func run() throws {
        try connection.run { client throws(ClientError) in
            let result = try client.call(.metrics)
            guard case .string(let text) = result else { throw ClientError("the daemon's metrics are not text") }
            if connection.json {
                try connection.print(result) { _ in "" }
            } else {
                print(text, terminator: "")
            }
        }
    }
}

struct Export: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Export the daemon's training set as .npy shards and a manifest, for training elsewhere (trainer/).",
        discussion: """
        The daemon lists the labelled scans it trains on; ctctl reads their cache tensors (you need read access to the \
        state folder: the daemon's group) and writes the shards into --out as you. Exporting into the same folder \
        again adds only new scans; the manifest is replaced atomically.
        """)
    @OptionGroup var connection: Connection
    @Option(help: "The export folder (created; an earlier export there is brought up to date).") var out: String
    @Option(help: "Scans per shard.") var shardSize = 32

    func validate() throws {
        guard (1...4096).contains(shardSize) else { throw ValidationError("--shard-size must be between 1 and 4096") }
    }

    func run() throws {
        var skipped = false
        try connection.run { client throws(ClientError) in
            let (summary, withoutTensor) = try ExportClient.export(with: client, to: out, shardSize: shardSize)
            let value: JSONValue
            do { value = try JSONValue.encoding(summary) } catch { throw ClientError("cannot encode the export's summary: \(error)") }
            try connection.print(value) { _ in
                var lines = ExportReport.lines(summary)
                if withoutTensor > 0 { lines.append("\(withoutTensor) labelled scans have no tensor at this input size yet (the daemon is preparing them): export again later") }
                return lines.joined(separator: "\n")
            }
            skipped = !summary.skipped.isEmpty
        }
        if skipped { throw ExitCode(1) }
    }
}

struct Import: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Bring a model trained elsewhere (trainer/, another daemon) into the daemon as a run.",
        discussion: """
        The checkpoint is opened here and its descriptor passed to the daemon, which checks it, evaluates it on its \
        own validation set and records it with origin "imported". --promote makes it the active model if it is not \
        worse than the active one (the rule ctd's own runs follow); --force makes it active regardless (logged).
        """)
    @OptionGroup var connection: Connection
    @Argument(help: "A checkpoint (.safetensors) or a run folder (its best.safetensors).") var model: String
    @Flag(help: "Make it the active model if it is not worse than the active one on the daemon's validation set.") var promote = false
    @Flag(help: "Make it the active model without comparing (logged with your name).") var force = false

    func validate() throws {
        guard !(promote && force) else { throw ValidationError("give --promote or --force, not both") }
    }

    func run() throws {
        var isDirectory: ObjCBool = false
        let file = FileManager.default.fileExists(atPath: model, isDirectory: &isDirectory) && isDirectory.boolValue ? model + "/best.safetensors" : model
        try connection.run { client throws(ClientError) in
            let descriptor: OwnedDescriptor
            do throws(SocketError) { descriptor = try OwnedDescriptor(openingForReading: file) } catch {
                throw ClientError("\(file): cannot open: \(String(cString: strerror(error.code)))", code: "cannot_open")
            }
            let absolute = URL(fileURLWithPath: file).standardizedFileURL.path
            let result = try client.call(.importModel, target: absolute, promotion: force ? .forced : promote ? .guarded : nil, attaching: descriptor.raw)
            try connection.print(result) { Formatting.importResult(try $0.decode(ImportResult.self)) }
        }
    }
}
