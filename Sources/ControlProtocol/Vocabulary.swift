/// The words the protocol uses for labels, states and decisions. Each travels as its raw text, the
/// same text the catalog stores, so `--json` output reads as it always has.

/// A word of the protocol: printed, it is its text ("stopped early", not "stoppedEarly").
public protocol ProtocolWord: RawRepresentable, CustomStringConvertible, Codable, Sendable where RawValue == String {}

extension ProtocolWord {
    public var description: String { rawValue }
}

/// A scan's label as ctctl shows it: the folder it came from, or both when copies disagree.
public enum ScanLabel: String, ProtocolWord, CaseIterable {
    case normal, abnormal
    /// Unlabelled: a prediction request.
    case none
    /// Copies of the same content arrived in both CT-0/ and CT-23/.
    case conflict
}

/// Whether a scan could be read and preprocessed.
public enum ScanState: String, ProtocolWord, CaseIterable { case cached, rejected }

/// What happened to one file that brought a scan.
public enum FileOutcome: String, ProtocolWord, CaseIterable { case archived, rejected }

/// The model's answer for one scan.
public enum Decision: String, ProtocolWord, CaseIterable {
    case normal, abnormal

    /// "abnormal" at or above the threshold.
    public init(probabilityAbnormal: Double, threshold: Double) {
        self = probabilityAbnormal >= threshold ? .abnormal : .normal
    }
}

/// The side of the validation split a scan falls on.
public enum SplitSide: String, ProtocolWord { case train, validation }

/// A training run's state.
public enum RunState: String, ProtocolWord, CaseIterable {
    case running, finished
    case stoppedEarly = "stopped early"
    case cancelled, failed
}

/// Where a model came from: trained by this daemon, or imported with `ctctl import`.
public enum RunOrigin: String, ProtocolWord { case trained, imported }

/// The daemon's persistent job queues, as `status` counts them.
public enum JobKind: String, ProtocolWord, CaseIterable { case ingest, predict, train }

public enum JobState: String, ProtocolWord, CaseIterable {
    case queued, running, done, parked
}
