import Catalog
import Foundation
import Logging
import Training

/// The model that answers requests: a run's best checkpoint, loaded. Loading a new one rings
/// `loaded`, so waiting requests are answered at once.
final class ActiveModel: @unchecked Sendable {
    typealias Loaded = (runID: String, predictor: Predictor)

    private let lock = NSLock()
    private var model: Loaded?
    private let log: Logger
    private let loaded: @Sendable () -> Void

    init(log: Logger, loaded: @escaping @Sendable () -> Void) { (self.log, self.loaded) = (log, loaded) }

    var current: Loaded? { lock.withLock { model } }
    var runID: String? { current?.runID }

    /// Loads a run's best checkpoint; a model that fails to load is logged and the old one stays.
    func load(_ run: RunRecord) {
        do {
            let predictor = try Predictor(model: run.folder)
            lock.withLock { model = (run.id, predictor) }
            loaded()
            log.notice("active model: \(run.id) (val_acc \(run.valAcc.map { String(format: "%.3f", $0) } ?? "?"))")
        } catch {
            log.error("cannot load the active model \(run.id) from \(run.folder): \(error)")
        }
    }
}
