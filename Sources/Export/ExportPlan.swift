/// One scan an export should hold, as its source knows it.
public struct ExportItem: Sendable, Equatable {
    public var hash: String
    public var label: Int
    public var isValidation: Bool
    /// The scan's file name (for people reading the manifest).
    public var name: String

    public init(hash: String, label: Int, isValidation: Bool, name: String) {
        (self.hash, self.label, self.isValidation, self.name) = (hash, label, isValidation, name)
    }
}

/// What an incremental export does, decided without touching a file: scans already exported stay
/// where they are (with today's label and split), new ones are appended, and the last shard, when
/// it is not full, is rewritten with the new scans after its own rows, so that shards stay full.
public struct ExportPlan: Equatable, Sendable {
    /// Scans already exported that stay, label and split refreshed from the source.
    public var kept: [ExportManifest.Scan]
    /// The last shard, when it has room and new scans arrive: rewritten (under a new name) with
    /// its kept rows first. Its kept scans are in `kept` and move with it.
    public var refill: ExportManifest.Shard?
    /// Scans to load and write, in the source's order.
    public var added: [ExportItem]
    /// Hashes exported before that the source no longer holds (their rows are dropped from the manifest).
    public var removed: [String]

    /// - Parameters:
    ///   - damagedShards: shards whose file is missing or of the wrong size: their scans are exported again.
    public static func make(existing: ExportManifest?, items: [ExportItem], damagedShards: Set<String> = []) -> ExportPlan {
        guard let existing else { return ExportPlan(kept: [], refill: nil, added: uniqueItems(items), removed: []) }
        let current = Dictionary(items.map { ($0.hash, $0) }, uniquingKeysWith: { first, _ in first })
        var kept: [ExportManifest.Scan] = []
        var exported: Set<String> = []
        var removed: [String] = []
        for scan in existing.scans where !exported.contains(scan.hash) {
            guard let item = current[scan.hash] else { removed.append(scan.hash); continue }
            guard !damagedShards.contains(scan.shard) else { continue }
            var refreshed = scan
            (refreshed.label, refreshed.split, refreshed.name) = (item.label, item.isValidation ? .validation : .train, item.name)
            kept.append(refreshed)
            exported.insert(scan.hash)
        }
        let added = uniqueItems(items).filter { !exported.contains($0.hash) }
        var refill: ExportManifest.Shard?
        if !added.isEmpty, let last = existing.shards.last, !damagedShards.contains(last.file),
           kept.filter({ $0.shard == last.file }).count < existing.shardSize {
            refill = last
        }
        return ExportPlan(kept: kept, refill: refill, added: added, removed: removed)
    }

    private static func uniqueItems(_ items: [ExportItem]) -> [ExportItem] {
        var seen: Set<String> = []
        return items.filter { seen.insert($0.hash).inserted }
    }
}
