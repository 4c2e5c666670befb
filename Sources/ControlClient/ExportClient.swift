import ContentHash
import ControlProtocol
import Export
import Foundation
import Preprocess

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
        let items = entries.map { ExportItem(hash: $0.hash, label: $0.label, isValidation: $0.split == "validation", name: $0.name) }
        do {
            let summary = try TrainingSetExport.update(folder: folder, items: items, preprocessing: parameters, validationFraction: listing.validationFraction,
                                                       shardSize: shardSize, writer: "ctctl \(ControlProtocol.softwareVersion)",
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
        guard let data = FileManager.default.contents(atPath: entry.tensor) else {
            let reason = access(entry.tensor, F_OK) == 0 ? "permission denied (join the daemon's group, e.g. `sudo usermod -aG ctd $USER`)" : "missing"
            throw ExportError(entry.tensor, "cannot read the cache tensor: \(reason)")
        }
        let bytes = [UInt8](data)
        guard ContentHash.sha256(bytes) == entry.checksum else {
            throw ExportError(entry.tensor, "the cache tensor does not match the catalog's checksum (the daemon rebuilds it when it next uses it)")
        }
        let grid: VoxelGrid
        do { grid = try NumPyFile.decode(bytes).grid } catch { throw ExportError(entry.tensor, error.description) }
        guard grid.nx == parameters.width, grid.ny == parameters.height, grid.nz == parameters.depth else {
            throw ExportError(entry.tensor, "the cache tensor is \(grid.nx)×\(grid.ny)×\(grid.nz), not \(parameters.width)×\(parameters.height)×\(parameters.depth)")
        }
        return ModelInput.values(grid)
    }
}
