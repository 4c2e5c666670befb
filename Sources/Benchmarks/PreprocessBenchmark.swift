import Foundation
import NIfTI
import Preprocess

/// Times reading and preprocessing one scan, stage by stage, against the seed's nibabel + scipy
/// pipeline run on the same file in the same run (when a Python with them is given).
public struct PreprocessBenchmark {
    public var file: String
    public var runs: Int
    public var parameters: PreprocessParameters
    /// A python with nibabel + scipy (scripts/reference_venv.sh makes one), or nil to skip the reference.
    public var python: String?
    /// scripts/reference_preprocess.py.
    public var referenceScript: String

    public init(file: String, runs: Int, parameters: PreprocessParameters = .seed, python: String?, referenceScript: String) {
        self.file = file
        self.runs = runs
        self.parameters = parameters
        self.python = python
        self.referenceScript = referenceScript
    }

    /// Median seconds per stage. ctd folds the 90° rotation into the resize (`rotate` is 0 and
    /// `resize` covers both); the reference runs them apart.
    public struct Stages: Codable, Sendable {
        public var read: Double
        public var window: Double
        public var rotate: Double
        public var resize: Double
        public var total: Double
    }

    public struct Report: Codable, Sendable {
        public var file: String
        public var shape: [Int]
        public var datatype: String
        public var runs: Int
        public var ctd: Stages
        /// Peak resident memory added while preprocessing one scan, in bytes.
        public var ctdPeakBytes: Int
        /// The decoded volume's float32 size (the memory target is 4× this).
        public var decodedFloat32Bytes: Int
        public var reference: Stages?
        public var referencePeakBytes: Int?
        /// Max |ctd − reference| over the output, when the reference ran.
        public var maxAbsError: Double?
        /// reference total / ctd total.
        public var speedup: Double?
    }

    public func run() throws -> Report {
        let reader = NIfTIReader()
        let preprocessor = Preprocessor(parameters)
        var samples: [[Double]] = Array(repeating: [], count: 5)
        var peak = 0
        var output: VoxelGrid?
        // One warm-up run (page cache, allocator), not counted.
        _ = preprocessor.run(try reader.read(path: file))
        for _ in 0..<runs {
            let baseline = ProcessMemory.resident()
            ProcessMemory.resetPeak()
            let read = try timed { try reader.read(path: file) }
            let window = timed { preprocessor.window(read.value) }
            let resize = timed { preprocessor.rotateAndResize(window.value) }
            peak = max(peak, ProcessMemory.peak() - baseline)
            output = resize.value
            let stages = [read.seconds, window.seconds, 0, resize.seconds]
            for (index, seconds) in (stages + [stages.reduce(0, +)]).enumerated() { samples[index].append(seconds) }
        }
        let header = try reader.inspect(path: file).header
        let medians = samples.map(median)
        var report = Report(
            file: file, shape: [header.shape.nx, header.shape.ny, header.shape.nz], datatype: header.datatype?.name ?? "?",
            runs: runs, ctd: Stages(read: medians[0], window: medians[1], rotate: medians[2], resize: medians[3], total: medians[4]),
            ctdPeakBytes: peak, decodedFloat32Bytes: 4 * (header.voxelCount ?? 0))
        if let python, let output {
            let reference = try runReference(python: python)
            report.reference = reference.stages
            report.referencePeakBytes = reference.peak
            report.speedup = reference.stages.total / report.ctd.total
            let expected = try NumPyFile.decode([UInt8](Data(contentsOf: URL(fileURLWithPath: reference.outputPath)))).grid
            report.maxAbsError = Double(zip(output.values, expected.values).reduce(Float(0)) { max($0, abs($1.0 - $1.1)) })
            try? FileManager.default.removeItem(atPath: reference.outputPath)
        }
        return report
    }

    private func runReference(python: String) throws -> (stages: Stages, peak: Int, outputPath: String) {
        let outputPath = NSTemporaryDirectory() + "ctd-bench-reference-\(getpid()).npy"
        let process = Process()
        process.executableURL = URL(fileURLWithPath: python)
        process.arguments = [referenceScript, file, "--runs", String(runs), "--save", outputPath,
                             "--size", String(parameters.width), String(parameters.height), String(parameters.depth)]
        let pipe = Pipe()
        process.standardOutput = pipe
        try process.run()
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else {
            throw BenchmarkError(reason: "the reference (\(python) \(referenceScript)) failed with status \(process.terminationStatus)")
        }
        struct Output: Decodable {
            var read: Double, window: Double, rotate: Double, resize: Double, total: Double
            var peak_rss_bytes: Int
        }
        let decoded = try JSONDecoder().decode(Output.self, from: data)
        return (Stages(read: decoded.read, window: decoded.window, rotate: decoded.rotate, resize: decoded.resize, total: decoded.total),
                decoded.peak_rss_bytes, outputPath)
    }
}

public struct BenchmarkError: Error, CustomStringConvertible {
    public let reason: String
    public var description: String { reason }
}

extension PreprocessBenchmark.Report {
    /// The table a person reads: stages in ms, ctd vs reference, the targets and whether they hold.
    public var table: String {
        func ms(_ seconds: Double?) -> String { seconds.map { String(format: "%9.1f", $0 * 1000) } ?? "        –" }
        func mb(_ bytes: Int?) -> String { bytes.map { String(format: "%.0f MB", Double($0) / 1_048_576) } ?? "–" }
        var lines = [
            "preprocess benchmark: \(file)",
            "scan \(shape.map(String.init).joined(separator: "×")) \(datatype), \(runs) runs, medians",
            "stage             ctd ms   seed ms (nibabel+scipy); ctd folds the rotation into the resize",
        ]
        let rows: [(String, Double?, Double?)] = [
            ("read+inflate", ctd.read, reference?.read), ("window", ctd.window, reference?.window),
            ("rotate 90°", nil, reference?.rotate), ("resize", nil, reference?.resize),
            ("rotate+resize", ctd.resize, reference.map { $0.rotate + $0.resize }),
            ("total", ctd.total, reference?.total),
        ]
        for (name, mine, theirs) in rows {
            lines.append(name.padding(toLength: 14, withPad: " ", startingAt: 0) + ms(mine) + " " + ms(theirs))
        }
        let memoryRatio = Double(ctdPeakBytes) / Double(max(1, decodedFloat32Bytes))
        lines.append("peak memory per scan: \(mb(ctdPeakBytes)) = \(String(format: "%.2f", memoryRatio))× the float32 volume (target < 4×)\(referencePeakBytes.map { "; reference process peak \(mb($0))" } ?? "")")
        if let speedup {
            lines.append(String(format: "speedup vs reference: %.1f× (target ≥ 10×); max |error| vs reference: %.2g (target ≤ 1e-5)", speedup, maxAbsError ?? .nan))
        } else {
            lines.append("reference not measured: pass --python \"$(scripts/reference_venv.sh)\" to time nibabel + scipy in the same run")
        }
        lines.append(String(format: "ctd total %.0f ms per scan (target < 300 ms)", ctd.total * 1000))
        return lines.joined(separator: "\n")
    }
}
