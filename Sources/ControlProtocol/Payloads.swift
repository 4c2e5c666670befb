/// Results of the commands, shared by the daemon (which encodes them) and ctctl (which decodes
/// and prints them). Keys are snake_case, as `--json` prints them.

public struct TrainingInfo: Codable, Sendable, Equatable {
    public var runID: String
    public var epoch: Int
    public var epochs: Int
    public var step: Int
    public var steps: Int
    public var secondsPerEpoch: Double?
    /// Seconds until the run reaches its last epoch (it may stop earlier).
    public var etaSeconds: Double?
    public var lastValAcc: Double?

    public init(runID: String, epoch: Int, epochs: Int, step: Int, steps: Int, secondsPerEpoch: Double?, etaSeconds: Double?, lastValAcc: Double?) {
        (self.runID, self.epoch, self.epochs, self.step, self.steps) = (runID, epoch, epochs, step, steps)
        (self.secondsPerEpoch, self.etaSeconds, self.lastValAcc) = (secondsPerEpoch, etaSeconds, lastValAcc)
    }

    enum CodingKeys: String, CodingKey {
        case epoch, epochs, step, steps
        case runID = "run_id", secondsPerEpoch = "seconds_per_epoch", etaSeconds = "eta_seconds", lastValAcc = "last_val_acc"
    }
}

public struct StatusInfo: Codable, Sendable, Equatable {
    public var version: String
    public var upSince: String
    public var configFile: String?
    public var stateDirectory: String
    public var watching: String
    public var paused: Bool
    /// Jobs by kind and state, e.g. ["ingest": ["queued": 3]].
    public var queues: [String: [String: Int]]
    /// Scans by "label/state", e.g. "normal/cached".
    public var scans: [String: Int]
    public var activeModel: RunSummary?
    public var training: TrainingInfo?
    /// Conditions that stop work until someone acts, e.g. "disk full: 3.0 MB free in /var/lib/ctd".
    public var problems: [String]?
    /// The CPU tier oneDNN runs and the precision training uses on it (added in ctd 0.2).
    public var compute: ComputeInfo?
    /// What the next training run waits for, e.g. "3 new labelled scans since the last run;
    /// retraining starts at 20" (added in ctd 0.2; nil while one runs or is about to).
    public var nextTraining: String?

    public init(version: String, upSince: String, configFile: String?, stateDirectory: String, watching: String, paused: Bool,
                queues: [String: [String: Int]], scans: [String: Int], activeModel: RunSummary?, training: TrainingInfo?,
                problems: [String]? = nil, compute: ComputeInfo? = nil, nextTraining: String? = nil) {
        (self.version, self.upSince, self.configFile, self.stateDirectory, self.watching) = (version, upSince, configFile, stateDirectory, watching)
        (self.paused, self.queues, self.scans, self.activeModel, self.training) = (paused, queues, scans, activeModel, training)
        (self.problems, self.compute, self.nextTraining) = (problems, compute, nextTraining)
    }

    enum CodingKeys: String, CodingKey {
        case version, watching, paused, queues, scans, training, problems, compute
        case upSince = "up_since", configFile = "config_file", stateDirectory = "state_dir", activeModel = "active_model"
        case nextTraining = "next_training"
    }

    /// The wire key of `scans`, e.g. "normal/cached".
    public static func scanKey(_ label: ScanLabel, _ state: ScanState) -> String { "\(label.rawValue)/\(state.rawValue)" }

    public func scanCount(_ label: ScanLabel, _ state: ScanState) -> Int { scans[Self.scanKey(label, state)] ?? 0 }

    public func jobCount(_ kind: JobKind, _ state: JobState) -> Int? { queues[kind.rawValue]?[state.rawValue] }
}

/// What the daemon computes on: oneDNN's instruction-set tier (the CPU's, or lower under
/// `ONEDNN_MAX_CPU_ISA`) and the training precision `model.precision` resolved to there.
public struct ComputeInfo: Codable, Sendable, Equatable {
    /// e.g. "AVX2", "AVX512_CORE_BF16", "AVX512_CORE_AMX".
    public var cpuISA: String
    public var oneDNN: String
    public var precision: String
    /// e.g. "auto: f32, since oneDNN has no bf16 convolutions on AVX2".
    public var precisionReason: String

    public init(cpuISA: String, oneDNN: String, precision: String, precisionReason: String) {
        (self.cpuISA, self.oneDNN, self.precision, self.precisionReason) = (cpuISA, oneDNN, precision, precisionReason)
    }

    enum CodingKeys: String, CodingKey {
        case precision
        case cpuISA = "cpu_isa", oneDNN = "onednn", precisionReason = "precision_reason"
    }
}

public struct ScanSummary: Codable, Sendable, Equatable {
    public var id: Int64
    public var hash: String
    public var name: String
    public var label: ScanLabel
    public var state: ScanState
    public var size: Int64
    public var arrivedAt: String
    public var error: String?

    public init(id: Int64, hash: String, name: String, label: ScanLabel, state: ScanState, size: Int64, arrivedAt: String, error: String?) {
        (self.id, self.hash, self.name, self.label, self.state, self.size, self.arrivedAt, self.error) = (id, hash, name, label, state, size, arrivedAt, error)
    }

    enum CodingKeys: String, CodingKey {
        case id, hash, name, label, state, size, error
        case arrivedAt = "arrived_at"
    }
}

public struct PredictionSummary: Codable, Sendable, Equatable {
    public var file: String
    public var runID: String
    public var probabilityAbnormal: Double
    public var decision: Decision
    public var report: String
    public var at: String

    public init(file: String, runID: String, probabilityAbnormal: Double, decision: Decision, report: String, at: String) {
        (self.file, self.runID, self.probabilityAbnormal, self.decision, self.report, self.at) = (file, runID, probabilityAbnormal, decision, report, at)
    }

    enum CodingKeys: String, CodingKey {
        case file, decision, report, at
        case runID = "run_id", probabilityAbnormal = "probability_abnormal"
    }
}

public struct ScanDetail: Codable, Sendable, Equatable {
    public var scan: ScanSummary
    /// Every file that brought this content, and where it went.
    public var files: [FileInfo]
    public var facts: JSONValue?
    public var predictions: [PredictionSummary]

    public init(scan: ScanSummary, files: [FileInfo], facts: JSONValue?, predictions: [PredictionSummary]) {
        (self.scan, self.files, self.facts, self.predictions) = (scan, files, facts, predictions)
    }

    public struct FileInfo: Codable, Sendable, Equatable {
        public var inboxPath: String
        public var destination: String
        public var outcome: FileOutcome
        public var arrivedAt: String
        public init(inboxPath: String, destination: String, outcome: FileOutcome, arrivedAt: String) {
            (self.inboxPath, self.destination, self.outcome, self.arrivedAt) = (inboxPath, destination, outcome, arrivedAt)
        }
        enum CodingKeys: String, CodingKey {
            case destination, outcome
            case inboxPath = "inbox_path", arrivedAt = "arrived_at"
        }
    }
}

public struct RunSummary: Codable, Sendable, Equatable {
    public var id: String
    public var state: RunState
    public var reason: String
    public var startedAt: String
    public var endedAt: String?
    public var trainCount: Int
    public var validationCount: Int
    public var bestEpoch: Int?
    public var valLoss: Double?
    public var valAcc: Double?
    public var valAUC: Double?
    public var active: Bool
    public var promotionNote: String?
    public var error: String?
    /// "trained" by this daemon or "imported" (added in ctd 0.3; nil from older daemons), and for
    /// an imported model the file it came from.
    public var origin: RunOrigin?
    public var source: String?

    public init(id: String, state: RunState, reason: String, startedAt: String, endedAt: String?, trainCount: Int, validationCount: Int,
                bestEpoch: Int?, valLoss: Double?, valAcc: Double?, valAUC: Double?, active: Bool, promotionNote: String?, error: String?,
                origin: RunOrigin? = nil, source: String? = nil) {
        (self.id, self.state, self.reason, self.startedAt, self.endedAt) = (id, state, reason, startedAt, endedAt)
        (self.trainCount, self.validationCount, self.bestEpoch) = (trainCount, validationCount, bestEpoch)
        (self.valLoss, self.valAcc, self.valAUC, self.active, self.promotionNote, self.error) = (valLoss, valAcc, valAUC, active, promotionNote, error)
        (self.origin, self.source) = (origin, source)
    }

    enum CodingKeys: String, CodingKey {
        case id, state, reason, active, error, origin, source
        case startedAt = "started_at", endedAt = "ended_at", trainCount = "train_count", validationCount = "validation_count"
        case bestEpoch = "best_epoch", valLoss = "val_loss", valAcc = "val_acc", valAUC = "val_auc", promotionNote = "promotion_note"
    }
}

public struct EpochInfo: Codable, Sendable, Equatable {
    public var epoch: Int
    public var loss: Double
    public var acc: Double
    public var valLoss: Double
    public var valAcc: Double
    public var valAUC: Double?
    public var seconds: Double
    /// The best accuracy any threshold reaches; accuracy and ECE after the epoch's calibration.
    public var valBestAcc: Double?
    public var valAccCalibrated: Double?
    public var valECECalibrated: Double?

    public init(epoch: Int, loss: Double, acc: Double, valLoss: Double, valAcc: Double, valAUC: Double?, seconds: Double,
                valBestAcc: Double? = nil, valAccCalibrated: Double? = nil, valECECalibrated: Double? = nil) {
        (self.epoch, self.loss, self.acc, self.valLoss, self.valAcc, self.valAUC, self.seconds) = (epoch, loss, acc, valLoss, valAcc, valAUC, seconds)
        (self.valBestAcc, self.valAccCalibrated, self.valECECalibrated) = (valBestAcc, valAccCalibrated, valECECalibrated)
    }

    enum CodingKeys: String, CodingKey {
        case epoch, loss, acc, seconds
        case valLoss = "val_loss", valAcc = "val_acc", valAUC = "val_auc"
        case valBestAcc = "val_best_acc", valAccCalibrated = "val_acc_calibrated", valECECalibrated = "val_ece_calibrated"
    }
}

public struct RunDetail: Codable, Sendable, Equatable {
    public var run: RunSummary
    public var folder: String
    public var epochs: [EpochInfo]

    public init(run: RunSummary, folder: String, epochs: [EpochInfo]) { (self.run, self.folder, self.epochs) = (run, folder, epochs) }
}

public struct PredictResult: Codable, Sendable, Equatable {
    public var file: String
    public var probabilityAbnormal: Double
    public var probabilityNormal: Double
    public var decision: Decision
    public var sentences: [String]
    public var runID: String
    /// The network's raw logit; the probabilities are calibrated when `calibrated` is true.
    public var logit: Double?
    public var calibrated: Bool?

    public init(file: String, probabilityAbnormal: Double, probabilityNormal: Double, decision: Decision, sentences: [String], runID: String,
                logit: Double? = nil, calibrated: Bool? = nil) {
        (self.file, self.probabilityAbnormal, self.probabilityNormal, self.decision, self.sentences, self.runID) =
            (file, probabilityAbnormal, probabilityNormal, decision, sentences, runID)
        (self.logit, self.calibrated) = (logit, calibrated)
    }

    enum CodingKeys: String, CodingKey {
        case file, decision, sentences, logit, calibrated
        case probabilityAbnormal = "probability_abnormal", probabilityNormal = "probability_normal", runID = "run_id"
    }
}

/// The answer to commands that only change something (pause, resume, reload, promote, ...).
public struct Acknowledgement: Codable, Sendable, Equatable {
    public var message: String
    public init(_ message: String) { self.message = message }
}

/// `next_to_label`: the unlabelled scans the model is least sure of, and how to label them.
public struct LabelingSuggestions: Codable, Sendable, Equatable {
    public struct Suggestion: Codable, Sendable, Equatable {
        public var scanID: Int64
        public var hash: String
        public var name: String
        /// From the scan's latest report (calibrated when that model was).
        public var probabilityAbnormal: Double
        public var runID: String
        /// Whether that report came from the model active now.
        public var byActiveModel: Bool
        /// The original in the archive: copy it into `normalFolder` or `abnormalFolder`.
        public var archived: String
        public init(scanID: Int64, hash: String, name: String, probabilityAbnormal: Double, runID: String, byActiveModel: Bool, archived: String) {
            (self.scanID, self.hash, self.name, self.probabilityAbnormal) = (scanID, hash, name, probabilityAbnormal)
            (self.runID, self.byActiveModel, self.archived) = (runID, byActiveModel, archived)
        }
        enum CodingKeys: String, CodingKey {
            case hash, name, archived
            case scanID = "scan_id", probabilityAbnormal = "probability_abnormal", runID = "run_id", byActiveModel = "by_active_model"
        }
    }

    public var suggestions: [Suggestion]
    /// Where a copy labels the scan: the inbox's CT-0/ (normal) and CT-23/ (abnormal).
    public var normalFolder: String
    public var abnormalFolder: String
    /// Unlabelled scans without a prediction yet (no model, or still queued): not ranked.
    public var unpredicted: Int

    public init(suggestions: [Suggestion], normalFolder: String, abnormalFolder: String, unpredicted: Int) {
        (self.suggestions, self.normalFolder, self.abnormalFolder, self.unpredicted) = (suggestions, normalFolder, abnormalFolder, unpredicted)
    }

    enum CodingKeys: String, CodingKey {
        case suggestions, unpredicted
        case normalFolder = "normal_folder", abnormalFolder = "abnormal_folder"
    }
}

/// `export`: the training set as the daemon sees it, for `ctctl export` to write as shards. Pages
/// of `entries` arrive as progress lines; the final answer carries no entries, the totals and
/// the preprocessing (as in a checkpoint's `preprocessing`).
public struct ExportListing: Codable, Sendable, Equatable {
    public struct Entry: Codable, Sendable, Equatable {
        public var hash: String
        public var label: Int
        /// As the daemon's training runs split it.
        public var split: SplitSide
        public var name: String
        /// The cache tensor (.npy, x fastest) and its SHA-256 as the catalog recorded it.
        public var tensor: String
        public var checksum: String
        public init(hash: String, label: Int, split: SplitSide, name: String, tensor: String, checksum: String) {
            (self.hash, self.label, self.split, self.name, self.tensor, self.checksum) = (hash, label, split, name, tensor, checksum)
        }
    }

    public var entries: [Entry]
    public var total: Int
    /// Labelled scans whose tensor is still being rebuilt (after a change of input size): not listed.
    public var withoutTensor: Int
    public var preprocessing: JSONValue
    public var validationFraction: Double
    public var stateDirectory: String

    public init(entries: [Entry], total: Int, withoutTensor: Int, preprocessing: JSONValue, validationFraction: Double, stateDirectory: String) {
        (self.entries, self.total, self.withoutTensor, self.preprocessing) = (entries, total, withoutTensor, preprocessing)
        (self.validationFraction, self.stateDirectory) = (validationFraction, stateDirectory)
    }

    /// Entries per progress line: a page stays far below the response limit.
    public static let pageSize = 500

    enum CodingKeys: String, CodingKey {
        case entries, total, preprocessing
        case withoutTensor = "without_tensor", validationFraction = "validation_fraction", stateDirectory = "state_dir"
    }
}

/// `import`: the run the imported model became, and how it did on the daemon's own validation set.
public struct ImportResult: Codable, Sendable, Equatable {
    public struct Evaluation: Codable, Sendable, Equatable {
        public var scans: Int
        /// Raw: the network's own probabilities.
        public var loss: Double
        public var accuracy: Double
        public var auc: Double?
        /// With the model's calibration, as its reports would decide (equal to the raw figures without one).
        public var calibratedLoss: Double
        public var calibratedAccuracy: Double
        public init(scans: Int, loss: Double, accuracy: Double, auc: Double?, calibratedLoss: Double, calibratedAccuracy: Double) {
            (self.scans, self.loss, self.accuracy, self.auc, self.calibratedLoss, self.calibratedAccuracy) = (scans, loss, accuracy, auc, calibratedLoss, calibratedAccuracy)
        }
        enum CodingKeys: String, CodingKey {
            case scans, loss, accuracy, auc
            case calibratedLoss = "calibrated_loss", calibratedAccuracy = "calibrated_accuracy"
        }
    }

    public var run: RunSummary
    /// Nil when the daemon has no validation scans yet.
    public var evaluation: Evaluation?
    public var promoted: Bool
    /// Why it was or was not promoted (nil when promotion was not asked for).
    public var note: String?

    public init(run: RunSummary, evaluation: Evaluation?, promoted: Bool, note: String?) {
        (self.run, self.evaluation, self.promoted, self.note) = (run, evaluation, promoted, note)
    }
}
