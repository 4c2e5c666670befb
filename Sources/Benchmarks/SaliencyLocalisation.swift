import AtomicFile
import Daemon
import Foundation
import Model
import NIfTI
import Preprocess
import Synth
import Training

/// Does a model's saliency (Grad-CAM, as in its reports) fall on the lesions? On synthetic
/// abnormal scans whose lesion masks are known: each scan is written and read back as a `.nii.gz`,
/// preprocessed as the model's own, explained, and its lesion mask is carried to the model's grid
/// (`Preprocessor.resample`).
///
/// Two questions, each against what a map spread evenly would give:
/// - how much of the map lies within the lesions grown by `dilation` voxels (the map is coarse),
///   against the grown lesions' share of the body;
/// - of the map inside the lungs, how much lies on the lesions themselves, against their share
///   of the lungs: lesions, not merely lungs.
public struct SaliencyLocalisation {
    public var severities: [Severity]
    public var scans: Int
    public var seed: UInt64
    public var dilation: Int
    /// Pixels across a slice (512 as on a scanner).
    public var matrix: Int
    /// A folder to write each scan's report picture into (the trained model's map over the
    /// slices it is highest on, as the outbox shows it), when set.
    public var pictures: String?

    public init(severities: [Severity], scans: Int, seed: UInt64, dilation: Int = 5, matrix: Int = 512) {
        precondition(!severities.isEmpty && severities.allSatisfy { $0 > .ct0 }, "severities of abnormal scans")
        (self.severities, self.scans, self.seed, self.dilation, self.matrix) = (severities, scans, seed, dilation, matrix)
    }

    public struct Scan: Codable, Sendable {
        public var index: Int
        public var severity: String
        public var involvement: Double
        public var probability: Double
        /// Share of the map within the grown lesions; nil when the map is empty.
        public var share: Double?
        /// The grown lesions' share of the body.
        public var chance: Double
        /// Share of the map inside the lungs (as the report says).
        public var insideLungs: Double?
        /// Of the map inside the lungs, the share on the lesions; nil when none is inside.
        public var lungShareOnLesions: Double?
        /// The lesions' share of the lungs.
        public var lesionsOfLungs: Double
    }

    /// Medians over a set of scans (an empty map counts as 0).
    public struct Summary: Codable, Sendable {
        public var scans: [Scan]
        public var medianShare: Double
        public var medianChance: Double
        public var medianLungShareOnLesions: Double
        public var medianLesionsOfLungs: Double
        /// Scans whose map has at least half its mass within the grown lesions, of all scans.
        public var atLeastHalf: Double
        /// Scans whose map within the lungs favours the lesions (more than their share of the lungs), of all scans.
        public var favouringLesions: Double

        init(_ scans: [Scan]) {
            let all = Double(max(1, scans.count))
            self.scans = scans
            medianShare = median(scans.map { $0.share ?? 0 })
            medianChance = median(scans.map(\.chance))
            medianLungShareOnLesions = median(scans.map { $0.lungShareOnLesions ?? 0 })
            medianLesionsOfLungs = median(scans.map(\.lesionsOfLungs))
            atLeastHalf = Double(scans.filter { ($0.share ?? 0) >= 0.5 }.count) / all
            favouringLesions = Double(scans.filter { ($0.lungShareOnLesions ?? 0) > $0.lesionsOfLungs }.count) / all
        }

        var line: String {
            String(format: "median in grown lesions %.3f (chance %.3f), ≥ 0.5 in %.0f %% of scans; median on lesions within the lungs %.3f (chance %.3f), above chance in %.0f %%",
                   medianShare, medianChance, atLeastHalf * 100, medianLungShareOnLesions, medianLesionsOfLungs, favouringLesions * 100)
        }
    }

    public struct Report: Codable, Sendable {
        public var model: String
        public var dilation: Int
        public var trained: Summary
        /// The same network with its initial weights, on the same scans: what the measure gives a
        /// model that learned nothing (lesions are denser than lung, so even it may favour them).
        public var untrained: Summary

        public var table: String {
            func figure(_ value: Double?) -> String { value.map { String(format: "%.3f", $0) } ?? "-" }
            func cell(_ text: String, _ width: Int) -> String { String(repeating: " ", count: max(0, width - text.count)) + text }
            var lines = ["saliency on the lesions: \(model); lesions grown by \(dilation) voxels; chance = an even spread over the body / lungs",
                         "  scan  severity  involvement  p(abnormal)  in grown lesions  chance  in lungs  of that, on lesions  chance"]
            for scan in trained.scans {
                lines.append("  " + [cell("\(scan.index)", 4), cell("\(scan.severity)", 8), cell(String(format: "%.2f", scan.involvement), 11),
                                     cell(String(format: "%.3f", scan.probability), 11), cell(figure(scan.share), 16), cell(figure(scan.chance), 6),
                                     cell(figure(scan.insideLungs), 8), cell(figure(scan.lungShareOnLesions), 19), cell(figure(scan.lesionsOfLungs), 6)]
                    .joined(separator: "  "))
            }
            lines.append("  trained:   " + trained.line)
            lines.append("  untrained: " + untrained.line)
            return lines.joined(separator: "\n")
        }
    }

    public func run(model: String) throws -> Report {
        let predictor = try Predictor(model: model)
        let folder = NSTemporaryDirectory() + "ctd-saliency-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let architecture = predictor.checkpoint.architecture
        let initial = Checkpoint(architecture: architecture, parameters: .initial(for: architecture, seed: 1),
                                 metadata: ["run_id": "untrained", "precision": predictor.precision.rawValue,
                                            "preprocessing": String(decoding: try JSONEncoder().encode(predictor.preprocessing), as: UTF8.self)])
        try initial.write(to: folder + "/untrained.safetensors")
        let untrained = try Predictor(model: folder + "/untrained.safetensors")
        var scans: [[Scan]] = [[], []]
        for index in 0..<self.scans {
            let measured = try measure(index: index, with: [predictor, untrained], folder: folder)
            for (list, scan) in zip(scans.indices, measured) { scans[list].append(scan) }
        }
        return Report(model: predictor.modelName, dilation: dilation, trained: Summary(scans[0]), untrained: Summary(scans[1]))
    }

    /// Scan `index`, written, read back, preprocessed once and explained by each predictor.
    private func measure(index: Int, with predictors: [Predictor], folder: String) throws -> [Scan] {
        let severity = severities[index % severities.count]
        let phantom = PhantomGenerator(seed: seed, matrix: matrix).make(index: index, severity: severity, slices: nil, withLesionMask: true)
        let path = "\(folder)/scan.nii.gz"
        try Data(SyntheticDataset.encode(phantom, level: 1)).write(to: URL(fileURLWithPath: path))
        let preprocessor = Preprocessor(predictors[0].preprocessing)
        let grid = preprocessor.run(try NIfTIReader().read(path: path))
        let lesions = preprocessor.resample(mask: phantom.lesionMask!, nx: phantom.nx, ny: phantom.ny, nz: phantom.nz)
        let grown = VoxelMask.dilated(lesions, nx: grid.nx, ny: grid.ny, nz: grid.nz, by: dilation)
        let (estimatedLungs, body) = LungMask.withBody(grid)
        // Consolidation is denser than LungMask's threshold: the lungs are its estimate and the lesions.
        let lungs = zip(estimatedLungs, lesions).map { $0 || $1 }
        func count(_ a: [Bool], _ b: [Bool]) -> Double { Double(zip(a, b).filter { $0 && $1 }.count) }
        func count(_ a: [Bool]) -> Double { Double(a.filter { $0 }.count) }
        return try predictors.enumerated().map { number, predictor in
            let (prediction, saliency) = try predictor.predictExplained(grid, file: path)
            if number == 0, let pictures {
                let caption = String(format: "scan %d, %@, %.0f %% of lung: p(abnormal) %.3f", index, "\(severity)", phantom.involvement * 100,
                                     prediction.probabilityAbnormal)
                try AtomicFile.write(PredictionReport.montage(grid, caption: caption, saliency: saliency), to: "\(pictures)/scan-\(index).png")
            }
            let lungMap = saliency.grid.values.indices.map { lungs[$0] ? saliency.grid.values[$0] : 0 }
            let lungMass = lungMap.reduce(0, +)
            let onLesions = zip(lungMap, lesions).reduce(Float(0)) { $0 + ($1.1 ? $1.0 : 0) }
            return Scan(index: index, severity: "\(severity)", involvement: phantom.involvement, probability: prediction.probabilityAbnormal,
                        share: saliency.share(within: grown), chance: count(grown, body) / max(1, count(body)),
                        insideLungs: saliency.share(within: lungs), lungShareOnLesions: lungMass > 0 ? Double(onLesions / lungMass) : nil,
                        lesionsOfLungs: count(lesions, lungs) / max(1, count(lungs)))
        }
    }
}
