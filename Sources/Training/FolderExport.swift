import Export
import Foundation
import Preprocess

/// `ctd export`: a CT-0/CT-23 folder as an exported training set (`TrainingSetExport`), with the
/// split `ValidationSplit` gives, so a run elsewhere validates on the scans ctd would.
public enum FolderExport {
    public static func run(data: String, out: String, parameters: PreprocessParameters, validationFraction: Double,
                           cacheFolder: String?, shardSize: Int = TrainingSetExport.defaultShardSize, writer: String,
                           onEach: (Int, Int) -> Void = { _, _ in }) throws -> ExportSummary {
        let scans = try LabelledScans.discover(in: data)
        let byHash = Dictionary(scans.map { ($0.hash, $0) }, uniquingKeysWith: { first, _ in first })
        let items = scans.map { scan in
            ExportItem(hash: scan.hash, label: scan.label, isValidation: ValidationSplit.isValidation(hash: scan.hash, fraction: validationFraction),
                       name: scan.path.hasPrefix(data + "/") ? String(scan.path.dropFirst(data.count + 1)) : scan.path)
        }
        let source = "folder " + URL(fileURLWithPath: data).standardizedFileURL.path
        return try TrainingSetExport.update(folder: out, items: items, preprocessing: parameters, validationFraction: validationFraction,
                                            shardSize: shardSize, writer: writer, source: source, load: { item in
            let (prepared, skipped) = LabelledScans.prepare([byHash[item.hash]!], parameters: parameters, validationFraction: validationFraction,
                                                            cacheFolder: cacheFolder, memoryBudget: .max)
            if let (_, reason) = skipped.first { throw ExportError(item.name, reason) }
            return try prepared[0].input()
        }, onEach: onEach)
    }
}
