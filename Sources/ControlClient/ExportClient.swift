import ContentHash
import ControlProtocol
import Export
import Foundation
import Preprocess
import Version

/// `ctctl export`: asks the daemon which scans it trains on, then reads their cache tensors
/// itself (the state folder is readable by the daemon's group) and writes the shards as the
/// caller, where the caller may write. Each tensor is checked against the catalog's checksum.
public enum ExportClient {
    public static func export(with client: ControlClient, to folder: String, shardSize: Int,
                              onEach: (Int, Int) -> Void = { _, _ in }) throws(ClientError) -> (summary: ExportSummary, withoutTensor: Int) {
        var entries: [ExportListing.Entry] = []
        let final = try client.call(.export) { page in
            if let listing = try? page.decode(ExportListing.self) { entries += listing.entries }
        }
        let listing: ExportListing
        let parameters: PreprocessParameters
        do {
            listing = try final.decode(ExportListing.self)
            parameters = try listing.preprocessing.decode(PreprocessParameters.self)
        } catch {
            throw ClientError("the daemon's export listing has an unexpected shape: \(error)")
        }
        guard entries.count == listing.total else {
            throw ClientError("the daemon listed \(entries.count) of \(listing.total) scans; try again")
        }
        let byHash = Dictionary(entries.map { ($0.hash, $0) }, uniquingKeysWith: { first, _ in first })
        let items = entries.map { ExportItem(hash: $0.hash, label: $0.label, isValidation: $0.split == .validation, name: $0.name) }
        do {
            let summary = try TrainingSetExport.update(folder: folder, items: items, preprocessing: parameters, validationFraction: listing.validationFraction,
                                                       shardSize: shardSize, writer: "ctctl \(Release.version)",
                                                       source: "daemon \(listing.stateDirectory)", load: { item in
                try tensor(byHash[item.hash]!, parameters: parameters)
            }, onEach: onEach)
            return (summary, listing.withoutTensor)
        } catch {
            throw ClientError(error.description, code: "export_failed")
        }
    }

    /// A cache tensor in the network's layout, if it is the one the catalog recorded.
    static func tensor(_ entry: ExportListing.Entry, parameters: PreprocessParameters) throws(ExportError) -> [Float] {
        let cache = TensorCache(folder: (entry.tensor as NSString).deletingLastPathComponent, parameters: parameters)
        switch cache.read(entry.tensor, checksum: entry.checksum) {
        case .success(let grid): return ModelInput.values(grid)
        case .failure(let problem) where problem.kind == .unreadable:
            throw ExportError(entry.tensor, "cannot read the cache tensor: permission denied (join the daemon's group, e.g. `sudo usermod -aG ctd $USER`)")
        case .failure(let problem):
            throw ExportError(entry.tensor, "cannot use the cache tensor: \(problem.reason) (the daemon rebuilds it when it next uses it)")
        }
    }
}
