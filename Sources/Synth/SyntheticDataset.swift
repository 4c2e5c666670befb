import AtomicFile
import Foundation
import NIfTI

/// Writes a labelled folder of synthetic scans the way users lay out training data:
/// `DIR/CT-0/` (normal) and `DIR/CT-23/` (abnormal), int16 HU `.nii.gz` files.
public struct SyntheticDataset: Sendable {
    public let seed: UInt64
    public let normal: Int
    public let abnormal: Int
    /// gzip level of the written files (1 fastest … 9 smallest).
    public var compressionLevel: Int32 = 4
    /// The severities the abnormal scans take in turn; nil: MosMedData's CT-23 (CT-2, or CT-3 one
    /// time in four).
    public var abnormalSeverities: [Severity]? = nil

    public let generator: any ScanGenerator

    /// - Parameter generator: what draws the scans; `PhantomGenerator(seed:)` when nil.
    public init(seed: UInt64, normal: Int, abnormal: Int, generator: (any ScanGenerator)? = nil) {
        self.seed = seed
        self.normal = normal
        self.abnormal = abnormal
        self.generator = generator ?? PhantomGenerator(seed: seed)
    }

    /// The folder a label's scans go to, as the inbox convention names it.
    public static func labelFolder(abnormal: Bool) -> String { abnormal ? "CT-23" : "CT-0" }

    /// The file name of one scan (the seed is in the name, so datasets with different seeds can share a folder).
    public func fileName(index: Int, abnormal: Bool) -> String {
        let number = String(index + 1)
        let padded = String(repeating: "0", count: max(0, 4 - number.count)) + number
        return "synth_\(seed)_\(abnormal ? "abnormal" : "normal")_\(padded).nii.gz"
    }

    /// Generates and writes every scan under `folder`, `workers` at a time, and returns the paths
    /// written, normal ones first. Each file is written atomically.
    public func write(to folder: String, workers: Int = 2) throws -> [String] {
        let jobs = (0..<normal).map { (index: $0, abnormal: false) } + (0..<abnormal).map { (index: $0, abnormal: true) }
        let results = ResultSlots(count: jobs.count)
        let workerCount = max(1, workers)
        for label in [false, true] {
            try FileManager.default.createDirectory(atPath: "\(folder)/\(Self.labelFolder(abnormal: label))", withIntermediateDirectories: true)
        }
        DispatchQueue.concurrentPerform(iterations: workerCount) { worker in
            for jobIndex in stride(from: worker, to: jobs.count, by: workerCount) {
                let job = jobs[jobIndex]
                let path = "\(folder)/\(Self.labelFolder(abnormal: job.abnormal))/\(fileName(index: job.index, abnormal: job.abnormal))"
                do {
                    let bytes = try Self.encode(phantom(index: job.index, abnormal: job.abnormal), level: compressionLevel, by: generator.name)
                    try AtomicFile.write(bytes, to: path)
                    results.set(jobIndex, .success(path))
                } catch {
                    results.set(jobIndex, .failure(error))
                }
            }
        }
        return try results.values.map { try $0!.get() }
    }

    private func phantom(index: Int, abnormal: Bool) -> Phantom {
        guard abnormal, let severities = abnormalSeverities, !severities.isEmpty else { return generator.make(index: index, abnormal: abnormal) }
        return generator.make(index: index, severity: severities[index % severities.count])
    }

    /// What the header's description says of a phantom (at most 80 bytes), e.g. "ctd synth: CT-2,
    /// 31 % of lung, 3 GGO, 1 consolidation".
    public static func describe(_ phantom: Phantom, by generator: String = "ctd synth") -> String {
        guard phantom.abnormal else { return "\(generator): normal" }
        let kinds = LesionKind.allCases.compactMap { kind -> String? in
            let count = phantom.lesionKinds.filter { $0 == kind }.count
            return count > 0 ? "\(count) \(kind == .groundGlass ? "GGO" : kind.rawValue)" : nil
        }
        return (["\(generator): \(phantom.severity)", "\(Int((phantom.involvement * 100).rounded())) % of lung"] + kinds).joined(separator: ", ")
    }

    /// A phantom as `.nii.gz` bytes, with a scanner-like LPS orientation in qform and sform.
    public static func encode(_ phantom: Phantom, level: Int32 = 4, by generator: String = "ctd synth") throws -> [UInt8] {
        var header = NIfTIWriter.header(shape: (phantom.nx, phantom.ny, phantom.nz), datatype: .int16,
                                        spacing: (phantom.spacing.x, phantom.spacing.y, phantom.spacing.z))
        header.description = String(describe(phantom, by: generator).utf8.prefix(80))!
        // Voxel i runs to patient left, j to posterior, k to superior: a common CT layout (LPS).
        header.qformCode = 1
        header.sformCode = 1
        header.quaternion = [0, 0, 1]
        header.pixdim[0] = 1
        let (sx, sy, sz) = (phantom.spacing.x, phantom.spacing.y, phantom.spacing.z)
        header.qoffset = [Double(phantom.nx) * sx / 2, Double(phantom.ny) * sy / 2, 0]
        header.srow = [[-sx, 0, 0, header.qoffset[0]], [0, -sy, 0, header.qoffset[1]], [0, 0, sz, 0]]
        return try NIfTIWriter.encode(header: header, rawData: NIfTIWriter.rawBytes(phantom.hounsfield), compressed: true, level: level)
    }
}

/// Results written by concurrent workers, one slot each.
private final class ResultSlots: @unchecked Sendable {
    private var slots: [Result<String, any Error>?]
    private let lock = NSLock()

    init(count: Int) { slots = Array(repeating: nil, count: count) }

    func set(_ index: Int, _ value: Result<String, any Error>) {
        lock.withLock { slots[index] = value }
    }

    var values: [Result<String, any Error>?] { lock.withLock { slots } }
}
