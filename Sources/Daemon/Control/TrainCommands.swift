import Catalog
import ControlProtocol
import Foundation
import Training

/// The commands that change what the daemon serves: retrain (with pushed progress), promote.
extension ControlCommands {

    /// Starts a run now (or reports why it cannot); with `wait`, streams its progress until it
    /// ends. Progress is pushed by the tracker (at most `progressInterval` apart), not polled.
    func retrain(_ request: Request, send: (Response) throws -> Void) throws {
        let tracker = trainer.tracker
        var runID = tracker.info?.runID
        if runID == nil {
            if case .wait(let reason) = try trainer.policyDecision(requested: true) {
                throw ControlError(.nothingToRetrain, "cannot train now: \(reason)")
            }
            let before = try catalog.lastRunStart()
            let deadline = Date().addingTimeInterval(30)
            var seen = tracker.changeCount
            trainer.requestRetrain()
            while Date() < deadline {
                if let info = tracker.info { runID = info.runID; break }
                if let latest = try catalog.runs(limit: 1).first, latest.startedAt > (before ?? -1) { runID = latest.id; break }
                tracker.waitForChange(since: seen, seconds: min(1, deadline.timeIntervalSinceNow))
                seen = tracker.changeCount
            }
            guard runID != nil else { throw ControlError(.failed, "the training run did not start within 30 s: see the log") }
        }
        guard let runID else { return }
        guard request.wait == true else {
            try send(Response(id: request.id, result: try .encoding(Acknowledgement("training run \(runID) started"))))
            return
        }
        var last: TrainingInfo?
        var lastSent = Date.distantPast
        var endedAt: Date?
        while true {
            let seen = tracker.changeCount
            // Ended, and if promoted, already serving (a `predict` right after gets the new model;
            // a model that fails to load is in the log, and the answer comes 30 s later anyway).
            if let run = try catalog.run(id: runID), run.state != .running, tracker.info?.runID != runID {
                endedAt = endedAt ?? Date()
            }
            if let endedAt, let run = try catalog.run(id: runID),
               !run.promoted || model.runID == runID || Date().timeIntervalSince(endedAt) > 30 {
                try send(Response(id: request.id, result: try .encoding(RunSummary(run, activeID: try catalog.activeRun()?.id))))
                return
            }
            if isStopping() {
                throw ControlError(.failed, "ctd is stopping; run \(runID) resumes on its next start")
            }
            var unsent = false
            if let info = tracker.info, info.runID == runID, info != last {
                if Date().timeIntervalSince(lastSent) >= Self.progressInterval {
                    try send(Response(id: request.id, done: false, result: try .encoding(info)))
                    (last, lastSent) = (info, Date())
                } else {
                    unsent = true
                }
            }
            // Wakes at the next change; a second at most, for the checks that no change announces (a stop, the 30 s above).
            tracker.waitForChange(since: seen, seconds: unsent ? Self.progressInterval - Date().timeIntervalSince(lastSent) : 1)
        }
    }

    /// The shortest time between two progress lines of `retrain --wait` (steps can be milliseconds apart).
    static let progressInterval = 0.2

    func promote(_ id: String, by peer: Peer) throws -> String {
        guard let run = try catalog.run(id: id) else { throw ControlError(.notFound, "no training run \"\(id)\" (ctctl runs lists them)") }
        guard run.state != .running else { throw ControlError(.badRequest, "run \(id) is still training") }
        guard FileManager.default.fileExists(atPath: run.folder + "/best.safetensors") else {
            throw ControlError(.badRequest, "run \(id) has no best.safetensors to serve (it \(run.state.rawValue) before its first epoch)")
        }
        _ = try Predictor(model: run.folder)  // refuse a checkpoint that does not load before switching
        try catalog.activate(runID: id)
        model.load(run)
        return "\(id) is now the active model (chosen by \(peer.userName))"
    }
}
