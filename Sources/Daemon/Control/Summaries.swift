import Catalog
import ControlProtocol

extension RunSummary {
    /// A run as `ctctl runs` lists it.
    init(_ run: RunRecord, activeID: String?) {
        self.init(id: run.id, state: RunState(run.state), reason: run.reason, startedAt: PredictionReport.timestamp(run.startedAt),
                  endedAt: run.endedAt.map(PredictionReport.timestamp), trainCount: run.trainCount, validationCount: run.validationCount,
                  bestEpoch: run.bestEpoch, valLoss: run.valLoss, valAcc: run.valAcc, valAUC: run.valAUC,
                  active: run.id == activeID, promotionNote: run.promotionNote, error: run.error, origin: RunOrigin(run.origin), source: run.source)
    }
}

extension ScanSummary {
    /// A scan as `ctctl scans` lists it.
    init(_ scan: ScanRecord) {
        self.init(id: scan.id, hash: scan.hash, name: scan.name, label: ScanLabel(scan.labelGroup), state: ScanState(scan.state),
                  size: scan.size, arrivedAt: PredictionReport.timestamp(scan.createdAt), error: scan.error)
    }
}

// The catalog's words and the protocol's are the same text; these switches keep them in step at compile time.

extension ScanLabel {
    init(_ label: ScanRecord.Label) {
        switch label {
        case .normal: self = .normal
        case .abnormal: self = .abnormal
        case .none: self = .none
        case .conflict: self = .conflict
        }
    }
}

extension ScanRecord.Label {
    init(_ label: ScanLabel) {
        switch label {
        case .normal: self = .normal
        case .abnormal: self = .abnormal
        case .none: self = .none
        case .conflict: self = .conflict
        }
    }
}

extension ScanState {
    init(_ state: ScanRecord.State) { self = state == .cached ? .cached : .rejected }
}

extension ScanRecord.State {
    init(_ state: ScanState) { self = state == .cached ? .cached : .rejected }
}

extension FileOutcome {
    init(_ outcome: FileRecord.Outcome) { self = outcome == .archived ? .archived : .rejected }
}

extension Decision {
    init(_ decision: PredictionRecord.Decision) { self = decision == .abnormal ? .abnormal : .normal }
}

extension PredictionRecord.Decision {
    init(_ decision: Decision) { self = decision == .abnormal ? .abnormal : .normal }
}

extension RunOrigin {
    init(_ origin: RunRecord.Origin) { self = origin == .imported ? .imported : .trained }
}

extension RunState {
    init(_ state: RunRecord.State) {
        switch state {
        case .running: self = .running
        case .finished: self = .finished
        case .stoppedEarly: self = .stoppedEarly
        case .cancelled: self = .cancelled
        case .failed: self = .failed
        }
    }
}

extension JobKind {
    init(_ kind: JobRecord.Kind) {
        switch kind {
        case .ingest: self = .ingest
        case .predict: self = .predict
        case .train: self = .train
        }
    }
}

extension JobState {
    init(_ state: JobRecord.State) {
        switch state {
        case .queued: self = .queued
        case .running: self = .running
        case .done: self = .done
        case .parked: self = .parked
        }
    }
}

extension StatusInfo {
    /// `queues` as the protocol sends them: kind → state → count, by name.
    static func queues(_ counts: [JobRecord.Kind: [JobRecord.State: Int]]) -> [String: [String: Int]] {
        var named: [String: [String: Int]] = [:]
        for (kind, states) in counts {
            for (state, count) in states { named[JobKind(kind).rawValue, default: [:]][JobState(state).rawValue] = count }
        }
        return named
    }
}
