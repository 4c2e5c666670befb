/// How `ctd export` and `ctctl export` tell a person what an export did.
public enum ExportReport {
    public static func lines(_ summary: ExportSummary) -> [String] {
        var lines = ["\(summary.folder): \(summary.scans) scans (\(summary.train) train, \(summary.validation) validation) in \(summary.shards) shards; "
                     + "\(summary.added) added, \(summary.kept) already there, \(summary.removed) no longer in the training set; "
                     + "\(summary.shardsWritten) shards written"]
        for skipped in summary.skipped { lines.append("skipped \(skipped.name): \(skipped.reason)") }
        if !summary.skipped.isEmpty { lines.append("\(summary.skipped.count) scans skipped: export again once they can be read") }
        return lines
    }
}
