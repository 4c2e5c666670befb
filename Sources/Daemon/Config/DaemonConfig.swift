import Engine
import Foundation
import Model
import NIfTI
import Scheduling
import Training

/// Every setting of `ctd run`, with the seed's values and sane paths as defaults. Built from a
/// key lookup (the YAML file, environment and flags layered by `ConfigLoader`), validated as a
/// whole: a wrong value stops the start with every problem listed, one line each.
public struct DaemonConfig: Sendable, Equatable {
    public var stateDirectory = "/var/lib/ctd"
    public var training = TrainingConfig()
    public var trainingNice: Int32 = 10
    public var retrain = RetrainPolicy(minNewLabels: 20, interval: 6 * 3600)
    public var settleSeconds = 0.5
    public var rescanSeconds = 300.0
    /// A file whose data ends early is taken for a copy in progress, not rejected, until it has
    /// been unchanged this long (copies over SMB or NFS pause, and some close and reopen the file).
    public var incompleteGrace = 600.0
    public var ingestWorkers = 1
    public var maxAttempts = 3
    public var threshold = 0.5
    public var limits = ReadLimits()
    /// Below this much free space in the state folder, work waits (a full disk loses nothing).
    public var minFreeBytes: Int64 = 128 << 20
    /// Up to this many bytes of preprocessed tensors a training run keeps in memory; beyond it,
    /// it reads them from the cache per batch (about 5 % slower, memory bounded).
    public var trainingMemoryBytes = PreparedScan.memoryBudget
    public var logLevel = "info"
    public var control = Control()
    /// The CPU tier `model.precision` is resolved for (oneDNN's, unless a test says otherwise).
    public var isa = InstructionSet.effective
    /// `model.precision` resolved for `isa`, with the reason (`init(lookup:isa:)` refuses a
    /// setting that does not resolve, so the fallback is never used after a load).
    public var precision: ResolvedPrecision {
        (try? training.precision.resolve(on: isa).get()) ?? PrecisionSetting.automatic(on: isa)
    }

    /// The control socket and who may use it.
    public struct Control: Sendable, Equatable {
        /// Empty: $RUNTIME_DIRECTORY/ctd.sock under systemd, else ctd.sock in the state folder.
        public var socket = ""
        /// The group that may use every command (the socket's group); empty: the daemon's own.
        public var group = ""
        /// A wider group that may use the read-only commands (status, scans, runs, metrics, predict).
        public var readGroup = ""
        public var idleTimeout = 300.0
        public var maxClients = 32
        public init() {}
    }

    public init() {}

    /// The keys, with what each one means; `config/ctd.yaml` documents the same list.
    public static let keys: [String] = [
        "state_dir", "model.width", "model.height", "model.depth", "model.precision",
        "training.epochs", "training.patience", "training.batch_size", "training.learning_rate", "training.seed", "training.nice",
        "retrain.min_new_labels", "retrain.interval", "retrain.min_per_class",
        "watch.settle", "watch.rescan_interval", "watch.incomplete_grace", "ingest.workers", "ingest.max_attempts",
        "predict.threshold", "limits.max_voxels", "limits.max_bytes", "limits.min_free_bytes", "limits.training_memory_bytes", "log.level",
        "control.socket", "control.group", "control.read_group", "control.idle_timeout", "control.max_clients",
    ]

    /// Keys whose change takes effect only after a restart (everything else applies on reload).
    public static let restartKeys: Set<String> = ["state_dir", "model.width", "model.height", "model.depth", "ingest.workers", "control"]

    /// The flag for a key: dots and underscores become dashes (`retrain.min_new_labels` → `--retrain-min-new-labels`).
    public static func flag(for key: String) -> String {
        "--" + key.replacingOccurrences(of: ".", with: "-").replacingOccurrences(of: "_", with: "-")
    }

    /// The environment variable for a key: `CTD_` and the key in upper case (`CTD_RETRAIN_MIN_NEW_LABELS`).
    public static func environmentVariable(for key: String) -> String {
        "CTD_" + key.uppercased().replacingOccurrences(of: ".", with: "_")
    }

    /// Reads every key through `lookup` (nil: not set anywhere, keep the default). `model.precision`
    /// is resolved for `isa` (oneDNN's tier here): a precision this CPU cannot run is a problem
    /// now, not a training run that fails later.
    public init(lookup: (String) -> String?, isa: InstructionSet = .effective) throws(ConfigError) {
        var problems: [String] = []
        func read<T>(_ key: String, _ parse: (String) -> T?, _ expected: String, into target: inout T) {
            guard let raw = lookup(key)?.trimmingCharacters(in: .whitespaces) else { return }
            if let value = parse(raw) { target = value } else { problems.append("\(key): \"\(raw)\" is not \(expected)") }
        }
        let int: (String) -> Int? = { Int($0) }
        read("state_dir", { $0.isEmpty ? nil : $0 }, "a folder path", into: &stateDirectory)
        read("model.width", int, "a whole number", into: &training.width)
        read("model.height", int, "a whole number", into: &training.height)
        read("model.depth", int, "a whole number", into: &training.depth)
        read("model.precision", { PrecisionSetting(rawValue: $0) }, "auto, f32 or bf16", into: &training.precision)
        read("training.epochs", int, "a whole number", into: &training.epochs)
        read("training.patience", int, "a whole number", into: &training.patience)
        read("training.batch_size", int, "a whole number", into: &training.batchSize)
        read("training.learning_rate", { Double($0) }, "a number", into: &training.learningRate)
        read("training.seed", { UInt64($0) }, "a whole number ≥ 0", into: &training.seed)
        read("training.nice", { Int32($0) }, "a whole number", into: &trainingNice)
        read("retrain.min_new_labels", int, "a whole number", into: &retrain.minNewLabels)
        read("retrain.interval", Duration.seconds(in:), "a duration like 30s, 15m, 6h or 1d", into: &retrain.interval)
        read("retrain.min_per_class", int, "a whole number", into: &retrain.minPerClass)
        read("watch.settle", Duration.seconds(in:), "a duration like 500ms or 2s", into: &settleSeconds)
        read("watch.rescan_interval", Duration.seconds(in:), "a duration like 5m", into: &rescanSeconds)
        read("watch.incomplete_grace", Duration.seconds(in:), "a duration like 10m", into: &incompleteGrace)
        read("ingest.workers", int, "a whole number", into: &ingestWorkers)
        read("ingest.max_attempts", int, "a whole number", into: &maxAttempts)
        read("predict.threshold", { Double($0) }, "a number", into: &threshold)
        read("limits.max_voxels", int, "a whole number", into: &limits.maxVoxels)
        read("limits.max_bytes", int, "a whole number of bytes", into: &limits.maxDataBytes)
        read("limits.min_free_bytes", { Int64($0) }, "a whole number of bytes", into: &minFreeBytes)
        read("limits.training_memory_bytes", int, "a whole number of bytes", into: &trainingMemoryBytes)
        read("log.level", { ["debug", "info", "notice", "warning", "error"].contains($0) ? $0 : nil },
             "one of debug, info, notice, warning, error", into: &logLevel)
        read("control.socket", { $0 }, "a path", into: &control.socket)
        read("control.group", { $0 }, "a group name", into: &control.group)
        read("control.read_group", { $0 }, "a group name", into: &control.readGroup)
        read("control.idle_timeout", Duration.seconds(in:), "a duration like 5m", into: &control.idleTimeout)
        read("control.max_clients", int, "a whole number", into: &control.maxClients)
        problems += training.problems.map(Self.namingTheKey)
        self.isa = isa
        if case .failure(let error) = training.precision.resolve(on: isa) { problems.append("model.precision: \(error)") }
        if control.idleTimeout < 0.1 { problems.append("control.idle_timeout must be at least 100ms") }
        if control.maxClients < 1 || control.maxClients > 1024 { problems.append("control.max_clients must be between 1 and 1024") }
        if trainingNice < 0 || trainingNice > 19 { problems.append("training.nice must be between 0 and 19") }
        if retrain.minNewLabels < 1 { problems.append("retrain.min_new_labels must be at least 1") }
        if retrain.minPerClass < 2 { problems.append("retrain.min_per_class must be at least 2") }
        if settleSeconds > 3600 { problems.append("watch.settle must be at most 1h") }
        if rescanSeconds < 1 { problems.append("watch.rescan_interval must be at least 1s") }
        if incompleteGrace > 7 * 86400 { problems.append("watch.incomplete_grace must be at most 7d") }
        if ingestWorkers < 1 || ingestWorkers > 16 { problems.append("ingest.workers must be between 1 and 16") }
        if maxAttempts < 1 { problems.append("ingest.max_attempts must be at least 1") }
        if !(threshold > 0 && threshold < 1) { problems.append("predict.threshold must be between 0 and 1") }
        if limits.maxVoxels < 1 || limits.maxDataBytes < 1 { problems.append("limits.max_voxels and limits.max_bytes must be positive") }
        if minFreeBytes < 0 { problems.append("limits.min_free_bytes must be 0 or more") }
        if trainingMemoryBytes < 0 { problems.append("limits.training_memory_bytes must be 0 or more") }
        guard problems.isEmpty else { throw ConfigError(problems: problems) }
    }

    /// A training problem as a configuration problem: led by the key(s) to change.
    static func namingTheKey(_ problem: String) -> String {
        let keys = [("input size", "model.width, model.height, model.depth"), ("epochs", "training.epochs"), ("patience", "training.patience"),
                    ("batch size", "training.batch_size"), ("learning rate", "training.learning_rate")]
        guard let key = keys.first(where: { problem.hasPrefix($0.0) })?.1 else { return problem }
        return "\(key): \(problem)"
    }

    public var folders: StateFolders { StateFolders(root: stateDirectory) }

    /// Where the control socket goes.
    public func socketPath(environment: [String: String] = ProcessInfo.processInfo.environment) -> String {
        if !control.socket.isEmpty { return control.socket }
        if let runtime = environment["RUNTIME_DIRECTORY"]?.split(separator: ":").first, !runtime.isEmpty {
            return runtime + "/ctd.sock"
        }
        return stateDirectory + "/ctd.sock"
    }

    /// Keys whose values differ between two configs.
    public func changedKeys(from other: DaemonConfig) -> [String] {
        var changed: [String] = []
        if stateDirectory != other.stateDirectory { changed.append("state_dir") }
        if training.width != other.training.width { changed.append("model.width") }
        if training.height != other.training.height { changed.append("model.height") }
        if training.depth != other.training.depth { changed.append("model.depth") }
        if training.precision != other.training.precision { changed.append("model.precision") }
        if training != other.training, !changed.contains(where: { $0.hasPrefix("model.") }) { changed.append("training") }
        if trainingNice != other.trainingNice { changed.append("training.nice") }
        if retrain != other.retrain { changed.append("retrain") }
        if settleSeconds != other.settleSeconds { changed.append("watch.settle") }
        if rescanSeconds != other.rescanSeconds { changed.append("watch.rescan_interval") }
        if incompleteGrace != other.incompleteGrace { changed.append("watch.incomplete_grace") }
        if ingestWorkers != other.ingestWorkers { changed.append("ingest.workers") }
        if maxAttempts != other.maxAttempts { changed.append("ingest.max_attempts") }
        if threshold != other.threshold { changed.append("predict.threshold") }
        if limits != other.limits { changed.append("limits") }
        if logLevel != other.logLevel { changed.append("log.level") }
        if control != other.control { changed.append("control") }
        return changed
    }
}

/// Every problem found in a configuration, one per line.
public struct ConfigError: Error, CustomStringConvertible {
    public let problems: [String]
    public var description: String { "invalid configuration: " + problems.joined(separator: "; ") }
}

/// The folders under the state directory.
public struct StateFolders: Sendable, Equatable {
    public let root: String
    public init(root: String) { self.root = root }
    public var inbox: String { root + "/inbox" }
    public var outbox: String { root + "/outbox" }
    public var archive: String { root + "/archive" }
    public var rejected: String { root + "/rejected" }
    public var cache: String { root + "/cache" }
    public var models: String { root + "/models" }
    public var catalog: String { root + "/ctd.sqlite" }
    /// Held (flock) while a daemon uses the folder, so two cannot share it.
    public var lock: String { root + "/ctd.lock" }
    public var all: [String] { [root, inbox, inbox + "/CT-0", inbox + "/CT-23", outbox, archive, rejected, cache, models] }
}

/// Durations as people write them in config files: "90", "90s", "500ms", "15m", "6h", "1d".
public enum Duration {
    public static func seconds(in text: String) -> Double? {
        let units: [(String, Double)] = [("ms", 0.001), ("s", 1), ("m", 60), ("h", 3600), ("d", 86400)]
        for (suffix, scale) in units where text.hasSuffix(suffix) {
            let number = text.dropLast(suffix.count).trimmingCharacters(in: .whitespaces)
            // "ms" must not be read as "m" of "…s": the loop tries "ms" first.
            guard let value = Double(number), value >= 0, value.isFinite else { return nil }
            return value * scale
        }
        guard let value = Double(text), value >= 0, value.isFinite else { return nil }
        return value
    }
}
