import ArgumentParser
import Daemon
import Export
import Foundation
import Preprocess
import Training
import Version

struct Export: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Export a folder of labelled scans (CT-0/, CT-23/) as .npy shards and a manifest, for training elsewhere (trainer/).",
        discussion: """
        Each shard holds up to --shard-size preprocessed scans as float32 [n, 1, X, Y, Z]; manifest.json gives every \
        scan's content hash, label, split (ctd's, by content hash), shard and row, the preprocessing, and each \
        shard's SHA-256. Exporting into the same folder again adds only new scans. `ctctl export` does the same \
        for the daemon's catalog.
        """)

    @Option(help: "The folder with CT-0/ and CT-23/.") var data: String
    @Option(help: "The export folder (created; an earlier export there is brought up to date).") var out: String
    @Option(help: "Where preprocessed tensors are cached (as ctd train --cache).") var cache: String?
    @Option(help: "Model input width (x).") var width = PreprocessParameters.seed.width
    @Option(help: "Model input height (y).") var height = PreprocessParameters.seed.height
    @Option(help: "Model input depth (z).") var depth = PreprocessParameters.seed.depth
    @Option(help: "Share of each class held out for validation, by content hash (as ctd train).") var validationFraction = TrainingConfig().validationFraction
    @Option(help: "Scans per shard.") var shardSize = TrainingSetExport.defaultShardSize

    func validate() throws {
        var config = TrainingConfig()
        (config.width, config.height, config.depth, config.validationFraction) = (width, height, depth, validationFraction)
        if let problem = config.problems.first { throw ValidationError(problem) }
        guard (1...4096).contains(shardSize) else { throw ValidationError("--shard-size must be between 1 and 4096") }
    }

    func run() throws {
        let parameters = PreprocessParameters(width: width, height: height, depth: depth)
        do {
            let summary = try FolderExport.run(data: data, out: out, parameters: parameters, validationFraction: validationFraction,
                                               cacheFolder: cache, shardSize: shardSize, writer: "ctd \(Release.version)") { done, total in
                if total > 0, done % 10 == 0 || done == total { FileHandle.standardError.write(Data("\rpreprocessing \(done)/\(total)".utf8)) }
            }
            FileHandle.standardError.write(Data("\n".utf8))
            print(ExportReport.lines(summary).joined(separator: "\n"))
            if !summary.skipped.isEmpty { throw ExitCode(1) }
        } catch let exit as ExitCode {
            throw exit
        } catch {
            throw fail(error)
        }
    }
}
