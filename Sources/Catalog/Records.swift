import GRDB

/// A distinct scan (one per content hash).
public struct ScanRecord: Codable, Sendable, Equatable, FetchableRecord {
    public enum State: String, Codable, Sendable, CaseIterable { case cached, rejected }
    /// The label as people name it: its folder, or both when copies disagree.
    public enum Label: String, CaseIterable, Sendable {
        case normal, abnormal
        /// Unlabelled: prediction requests.
        case none
        /// The same content labelled both ways.
        case conflict
    }
    public var id: Int64
    public var hash: String
    public var name: String
    /// 0 normal, 1 abnormal, nil unlabelled (`labelGroup` names it).
    public var label: Int?
    public var size: Int64
    /// `HeaderFacts` as JSON.
    public var facts: String?
    public var orientation: String?
    public var state: State
    public var error: String?
    public var labelledAt: Double?
    public var createdAt: Double
    public var updatedAt: Double
    /// Copies of this content arrived labelled both ways: not used for training until resolved.
    public var labelConflict: Bool

    enum CodingKeys: String, CodingKey {
        case id, hash, name, label, size, facts, orientation, state, error
        case labelledAt = "labelled_at", createdAt = "created_at", updatedAt = "updated_at", labelConflict = "label_conflict"
    }

    public var labelGroup: Label { Self.labelGroup(label: label, conflict: labelConflict) }

    static func labelGroup(label: Int?, conflict: Bool) -> Label {
        conflict ? .conflict : label.map { $0 == 0 ? .normal : .abnormal } ?? .none
    }
}

/// A file that arrived in the inbox and where it went.
public struct FileRecord: Codable, Sendable, Equatable, FetchableRecord {
    public enum Outcome: String, Codable, Sendable, CaseIterable { case archived, rejected }
    public var id: Int64
    public var inboxPath: String
    public var size: Int64
    public var hash: String
    public var scanID: Int64
    public var label: Int?
    public var outcome: Outcome
    public var destination: String
    public var moved: Bool
    public var duplicate: Bool
    public var error: String?
    public var arrivedAt: Double

    enum CodingKeys: String, CodingKey {
        case id, size, hash, label, outcome, destination, moved, duplicate, error
        case inboxPath = "inbox_path", scanID = "scan_id", arrivedAt = "arrived_at"
    }
}

public struct CacheEntryRecord: Codable, Sendable, Equatable, FetchableRecord {
    public var scanID: Int64
    public var parametersKey: String
    public var path: String
    public var checksum: String
    public var createdAt: Double

    enum CodingKeys: String, CodingKey {
        case path, checksum
        case scanID = "scan_id", parametersKey = "parameters_key", createdAt = "created_at"
    }
}

public struct JobRecord: Codable, Sendable, Equatable, FetchableRecord {
    public enum Kind: String, Codable, Sendable, CaseIterable { case ingest, predict, train }
    public enum State: String, Codable, Sendable, CaseIterable { case queued, running, done, parked }
    public var id: Int64
    public var kind: Kind
    /// What the job is about: the inbox path (ingest), the file id (predict), the reason (train).
    public var subject: String
    public var state: State
    public var attempts: Int
    public var error: String?
    public var createdAt: Double
    public var updatedAt: Double

    enum CodingKeys: String, CodingKey {
        case id, kind, subject, state, attempts, error
        case createdAt = "created_at", updatedAt = "updated_at"
    }
}

public struct RunRecord: Codable, Sendable, Equatable, FetchableRecord {
    /// Stored as this text (the schema's CHECK lists the same values).
    public enum State: String, Codable, Sendable, CaseIterable {
        case running, finished
        case stoppedEarly = "stopped early"
        case cancelled, failed
    }

    public var id: String
    public var folder: String
    public var state: State
    public var reason: String
    public var trainCount: Int
    public var validationCount: Int
    public var bestEpoch: Int?
    public var valLoss: Double?
    public var valAcc: Double?
    public var valAUC: Double?
    public var promoted: Bool
    public var promotionNote: String?
    public var error: String?
    public var startedAt: Double
    public var endedAt: Double?
    /// "trained" here, or "imported" (`ctctl import`) from `source`.
    public var origin: Origin
    public var source: String?

    public enum Origin: String, Codable, Sendable, CaseIterable { case trained, imported }

    enum CodingKeys: String, CodingKey {
        case id, folder, state, reason, promoted, error, origin, source
        case trainCount = "train_count", validationCount = "validation_count", bestEpoch = "best_epoch"
        case valLoss = "val_loss", valAcc = "val_acc", valAUC = "val_auc", promotionNote = "promotion_note"
        case startedAt = "started_at", endedAt = "ended_at"
    }
}

public struct EpochRow: Codable, Sendable, Equatable, FetchableRecord {
    public var runID: String
    public var epoch: Int
    public var loss: Double
    public var acc: Double
    public var valLoss: Double
    public var valAcc: Double
    public var valAUC: Double?
    public var seconds: Double
    public var valBestAcc: Double?
    public var valAccCalibrated: Double?
    public var valECECalibrated: Double?

    public init(runID: String, epoch: Int, loss: Double, acc: Double, valLoss: Double, valAcc: Double, valAUC: Double?, seconds: Double,
                valBestAcc: Double? = nil, valAccCalibrated: Double? = nil, valECECalibrated: Double? = nil) {
        (self.runID, self.epoch, self.loss, self.acc) = (runID, epoch, loss, acc)
        (self.valLoss, self.valAcc, self.valAUC, self.seconds) = (valLoss, valAcc, valAUC, seconds)
        (self.valBestAcc, self.valAccCalibrated, self.valECECalibrated) = (valBestAcc, valAccCalibrated, valECECalibrated)
    }

    enum CodingKeys: String, CodingKey {
        case epoch, loss, acc, seconds
        case runID = "run_id", valLoss = "val_loss", valAcc = "val_acc", valAUC = "val_auc"
        case valBestAcc = "val_best_acc", valAccCalibrated = "val_acc_calibrated", valECECalibrated = "val_ece_calibrated"
    }
}

public struct PredictionRecord: Codable, Sendable, Equatable, FetchableRecord {
    public enum Decision: String, Codable, Sendable, CaseIterable { case normal, abnormal }
    public var id: Int64
    public var fileID: Int64
    public var scanID: Int64
    public var runID: String
    public var probabilityAbnormal: Double
    public var decision: Decision
    public var report: String
    public var createdAt: Double

    enum CodingKeys: String, CodingKey {
        case id, decision, report
        case fileID = "file_id", scanID = "scan_id", runID = "run_id"
        case probabilityAbnormal = "probability_abnormal", createdAt = "created_at"
    }
}

/// How many scans there are of each label and state.
public struct ScanCounts: Sendable, Equatable {
    public typealias Label = ScanRecord.Label

    private var counts: [Label: [ScanRecord.State: Int]] = [:]

    public init() {}

    public subscript(label: Label, state: ScanRecord.State) -> Int {
        get { counts[label]?[state] ?? 0 }
        set { counts[label, default: [:]][state] = newValue }
    }

    /// Labelled scans that were read (those labelled both ways included).
    public var labelledCached: Int { self[.normal, .cached] + self[.abnormal, .cached] + self[.conflict, .cached] }

    /// As `ctctl status --json` has always given them: "label/state" keys, e.g. "normal/cached".
    public var byName: [String: Int] {
        var named: [String: Int] = [:]
        for (label, states) in counts { for (state, count) in states where count > 0 { named["\(label.rawValue)/\(state.rawValue)"] = count } }
        return named
    }
}
