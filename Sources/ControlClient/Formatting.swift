import ControlProtocol
import Foundation
import Scheduling

/// How ctctl shows results to a person (`--json` prints the results as they come instead).
public enum Formatting {
    public static func status(_ s: StatusInfo) -> String {
        var lines = [
            "ctd \(s.version), up since \(s.upSince)",
            "state folder  \(s.stateDirectory)" + (s.configFile.map { "   config \($0)" } ?? ""),
            "watcher       \(s.watching)",
        ]
        let labelled = [ScanLabel.normal, .abnormal, .none].map { label -> String in
            let cached = s.scanCount(label, .cached), rejected = s.scanCount(label, .rejected)
            return "\(label == .none ? "unlabelled" : label.rawValue) \(cached)" + (rejected > 0 ? " (+\(rejected) rejected)" : "")
        }
        let conflicts = s.scanCount(.conflict, .cached) + s.scanCount(.conflict, .rejected)
        lines.append("scans         " + labelled.joined(separator: ", ")
                     + (conflicts > 0 ? ", \(conflicts) labelled both ways (left out of training: ctctl scans --label conflict)" : ""))
        let queue = { (kind: JobKind) -> String in
            let waiting = [JobState.queued, .running, .parked].compactMap { state in s.jobCount(kind, state).map { "\($0) \(state.rawValue)" } }
            return "\(kind.rawValue): " + (waiting.isEmpty ? "empty" : waiting.joined(separator: ", "))
        }
        lines.append("queues        \(queue(.ingest)); \(queue(.predict))")
        if let model = s.activeModel {
            lines.append("active model  \(model.id), trained \(model.endedAt ?? model.startedAt): val_acc \(number(model.valAcc)), val_loss \(number(model.valLoss)), val_auc \(number(model.valAUC))")
        } else {
            lines.append("active model  none yet (the first one trains from the labelled scans in the inbox's CT-0/ and CT-23/)")
        }
        if let t = s.training {
            lines.append("training      \(trainingLine(t))")
        } else {
            lines.append("training      idle" + (s.nextTraining.map { ": waiting, \($0)" } ?? ""))
        }
        if let c = s.compute {
            lines.append("compute       oneDNN \(c.oneDNN) on \(c.cpuISA); precision \(c.precisionReason)")
        }
        for problem in s.problems ?? [] { lines.append("PROBLEM       \(problem)") }
        return lines.joined(separator: "\n")
    }

    public static func trainingLine(_ t: TrainingInfo) -> String {
        var text = "\(t.runID): epoch \(t.epoch)/\(t.epochs), step \(t.step)/\(t.steps)"
        if let acc = t.lastValAcc { text += ", last val_acc \(number(acc))" }
        if let eta = t.etaSeconds { text += ", at most \(duration(eta)) to go" }
        return text
    }

    public static func scans(_ list: [ScanSummary]) -> String {
        guard !list.isEmpty else { return "no scans" }
        let rows = list.map { [String($0.id), $0.label.rawValue, $0.state.rawValue, String($0.hash.prefix(12)), FileNaming.printable($0.name), $0.arrivedAt] }
        return table(header: ["ID", "LABEL", "STATE", "HASH", "NAME", "ARRIVED"], rows: rows)
            + list.compactMap { scan in scan.error.map { "\n  \(scan.id): \(FileNaming.printable($0))" } }.joined()
    }

    public static func scan(_ d: ScanDetail) -> String {
        let shown = FileNaming.printable
        var lines = ["scan \(d.scan.id)  \(shown(d.scan.name))", "  label \(d.scan.label), \(d.scan.state), \(d.scan.size) bytes, hash \(d.scan.hash)"]
        if d.scan.label == .conflict {
            lines.append("  copies of this content arrived in both CT-0/ and CT-23/: it is left out of training until the wrong copy is removed from archive/")
        }
        if let error = d.scan.error { lines.append("  error: \(shown(error))") }
        for file in d.files { lines.append("  file \(shown(file.inboxPath)) → \(file.outcome.rawValue) \(shown(file.destination)) (\(file.arrivedAt))") }
        for p in d.predictions {
            lines.append("  predicted \(p.decision.rawValue) (p_abnormal \(number(p.probabilityAbnormal))) by \(p.runID) for \(shown(p.file)): \(shown(p.report))")
        }
        return lines.joined(separator: "\n")
    }

    public static func nextToLabel(_ s: LabelingSuggestions) -> String {
        let shown = FileNaming.printable
        guard !s.suggestions.isEmpty else {
            return s.unpredicted > 0 ? "no unlabelled scan has a prediction yet (\(s.unpredicted) wait for a model)" : "no unlabelled scans"
        }
        var text = table(header: ["SCAN", "P_ABNORMAL", "NAME", "ARCHIVED"],
                         rows: s.suggestions.map { [String($0.scanID), String(format: "%.3f", $0.probabilityAbnormal) + ($0.byActiveModel ? "" : "*"),
                                                    shown($0.name), shown($0.archived)] })
        text += "\nMost uncertain first. To label one, copy its archived file into \(shown(s.normalFolder))/ (normal) or \(shown(s.abnormalFolder))/ (abnormal): the daemon recognises the content and records the label."
        if s.suggestions.contains(where: { !$0.byActiveModel }) { text += "\n* predicted by an earlier model than the active one" }
        if s.unpredicted > 0 { text += "\n\(s.unpredicted) more unlabelled scans have no prediction yet" }
        return text
    }

    public static func runs(_ list: [RunSummary]) -> String {
        guard !list.isEmpty else { return "no training runs yet" }
        return table(header: ["RUN", "ORIGIN", "STATE", "BEST", "VAL_ACC", "VAL_LOSS", "VAL_AUC", "STARTED", ""],
                     rows: list.map { [$0.id, ($0.origin ?? .trained).rawValue, $0.state.rawValue, $0.bestEpoch.map(String.init) ?? "-", number($0.valAcc), number($0.valLoss),
                                       number($0.valAUC), $0.startedAt, $0.active ? "active" : ""] })
            + list.compactMap { run in run.error.map { "\n  \(run.id) \(run.state): \($0)" } }.joined()
    }

    public static func run(_ d: RunDetail) -> String {
        let r = d.run
        var lines = ["\(r.id)\(r.active ? " (active)" : ""): \(r.state), \(r.reason)",
                     "  \(r.trainCount) training and \(r.validationCount) validation scans; folder \(d.folder)"]
        if let source = r.source { lines.append("  imported from \(source); its figures are this daemon's evaluation on its validation set") }
        if let note = r.promotionNote { lines.append("  \(note)") }
        if let error = r.error { lines.append("  error: \(error)") }
        lines.append(table(header: ["EPOCH", "LOSS", "ACC", "VAL_LOSS", "VAL_ACC", "VAL_AUC", "BEST_ACC", "CAL_ACC", "CAL_ECE", "SECONDS"],
                           rows: d.epochs.map { [String($0.epoch), number($0.loss), number($0.acc), number($0.valLoss), number($0.valAcc),
                                                 number($0.valAUC), number($0.valBestAcc), number($0.valAccCalibrated), number($0.valECECalibrated),
                                                 String(format: "%.1f", $0.seconds)] }))
        lines.append("  BEST_ACC: the best accuracy any threshold reaches; CAL_ACC and CAL_ECE: after calibration, as reports decide")
        return lines.joined(separator: "\n")
    }

    public static func importResult(_ result: ImportResult) -> String {
        var lines = ["imported as \(result.run.id)"]
        if let e = result.evaluation {
            lines.append("on this daemon's \(e.scans) validation scans: accuracy \(number(e.accuracy)), loss \(number(e.loss)), AUC \(number(e.auc)); "
                         + "with its calibration: accuracy \(number(e.calibratedAccuracy)), loss \(number(e.calibratedLoss))")
        } else {
            lines.append("not evaluated: this daemon has no validation scans yet")
        }
        lines.append(result.note ?? "not promoted (ctctl promote \(result.run.id) makes it active; --promote compares it with the active model first)")
        return lines.joined(separator: "\n")
    }

    public static func number(_ value: Double?) -> String {
        guard let value else { return "-" }
        return String(format: "%.4f", value)
    }

    public static func duration(_ seconds: Double) -> String {
        let s = Int(seconds.rounded())
        return s >= 3600 ? "\(s / 3600) h \(s % 3600 / 60) min" : s >= 60 ? "\(s / 60) min \(s % 60) s" : "\(s) s"
    }

    static func table(header: [String], rows: [[String]]) -> String {
        let widths = header.indices.map { column in ([header] + rows).map { $0[column].count }.max() ?? 0 }
        return ([header] + rows).map { row in
            row.enumerated().map { $0.element.padding(toLength: widths[$0.offset], withPad: " ", startingAt: 0) }
                .joined(separator: "  ").trimmingCharacters(in: .whitespaces)
        }.joined(separator: "\n")
    }
}
