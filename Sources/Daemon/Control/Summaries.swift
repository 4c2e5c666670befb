import Catalog
import ControlProtocol

extension RunSummary {
    /// A run as `ctctl runs` lists it.
    init(_ run: RunRecord, activeID: String?) {
        self.init(id: run.id, state: run.state.rawValue, reason: run.reason, startedAt: PredictionReport.timestamp(run.startedAt),
                  endedAt: run.endedAt.map(PredictionReport.timestamp), trainCount: run.trainCount, validationCount: run.validationCount,
                  bestEpoch: run.bestEpoch, valLoss: run.valLoss, valAcc: run.valAcc, valAUC: run.valAUC,
                  active: run.id == activeID, promotionNote: run.promotionNote, error: run.error, origin: run.origin.rawValue, source: run.source)
    }
}

extension ScanSummary {
    /// A scan as `ctctl scans` lists it.
    init(_ scan: ScanRecord) {
        self.init(id: scan.id, hash: scan.hash, name: scan.name, label: scan.labelConflict ? "conflict" : scan.label.map { $0 == 0 ? "normal" : "abnormal" } ?? "none",
                  state: scan.state.rawValue, size: scan.size, arrivedAt: PredictionReport.timestamp(scan.createdAt), error: scan.error)
    }
}
