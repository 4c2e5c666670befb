import ControlProtocol
import Daemon
import Foundation
import Model
import NIfTI

/// The decoders that take bytes from strangers, each as one call a fuzzer (or a regression test)
/// can make with arbitrary input. Every call must return: a crash, a trap or a sanitizer report is
/// the bug. The result is the one-line verdict a user would see, so tests can check its wording.
public enum FuzzTargets {
    public enum Verdict: Equatable, Sendable {
        case accepted(String)
        case rejected(String)
    }

    /// A `.nii` or `.nii.gz` file with these bytes, read and converted to float32 as ingest does.
    /// The bytes go through a real file because the reader's limits depend on the file's size.
    public static func nifti(_ bytes: [UInt8], scratchPath: String = defaultScratchPath) -> Verdict {
        guard FileManager.default.createFile(atPath: scratchPath, contents: Data(bytes)) else {
            return .rejected("cannot write the scratch file \(scratchPath)")
        }
        defer { try? FileManager.default.removeItem(atPath: scratchPath) }
        do {
            let volume = try NIfTIReader().read(path: scratchPath)
            let values: [Float] = volume.mapValues { Float($0) }
            return .accepted("\(values.count) voxels")
        } catch {
            return .rejected(error.description)
        }
    }

    /// A checkpoint file: the safetensors container, then the model's names, shapes and metadata.
    public static func checkpoint(_ bytes: [UInt8]) -> Verdict {
        do {
            let checkpoint = try Checkpoint.decode(bytes)
            return .accepted("\(checkpoint.parameters.tensors.count) tensors")
        } catch {
            return .rejected(error.description)
        }
    }

    /// A safetensors header on its own, as a checkpoint's: the first 8 bytes give the size of the
    /// data section (little-endian), the rest is the JSON header. Decoded, checked against the
    /// data size, then checked as a checkpoint's layout (names, shapes, metadata) — no tensor
    /// values are read, so this runs thousands of times a second.
    public static func safetensorsHeader(_ bytes: [UInt8]) -> Verdict {
        guard bytes.count >= 8 else { return .rejected("shorter than the 8-byte data size") }
        var declared: UInt64 = 0
        for (index, byte) in bytes[0..<8].enumerated() { declared |= UInt64(byte) << (8 * UInt64(index)) }
        let dataSize = Int(declared & ((1 << 40) - 1))
        do throws(SafeTensors.FormatError) {
            let header = try SafeTensors.decodeHeader(bytes[8...], dataSize: dataSize)
            let layout = try Checkpoint.checkLayout(shapes: Dictionary(header.entries.map { ($0.name, $0.shape) }, uniquingKeysWith: { a, _ in a }),
                                                    metadata: header.metadata)
            return .accepted("\(header.entries.count) tensors for \(layout.architecture.width)×\(layout.architecture.height)×\(layout.architecture.depth)")
        } catch {
            return .rejected(error.description)
        }
    }

    /// A configuration file's text, checked as `ctd run` checks its file: unknown keys, YAML
    /// errors, then every value.
    public static func configFile(_ bytes: [UInt8]) -> Verdict {
        switch ConfigLoader.check(fileBytes: bytes, file: "ctd.yaml") {
        case .success(let config): return .accepted("state_dir \(config.stateDirectory)")
        case .failure(let error): return .rejected(error.description)
        }
    }

    /// Bytes arriving on the control socket: split into lines under the daemon's limit, each decoded.
    public static func controlRequests(_ bytes: [UInt8], lineLimit: Int = ControlProtocol.maxRequestBytes) -> Verdict {
        var buffer = LineBuffer(limit: lineLimit)
        let lines: [[UInt8]]
        do { lines = try buffer.append(bytes) } catch { return .rejected("request longer than \(lineLimit) bytes") }
        var verdicts: [String] = []
        for line in lines {
            switch ControlCoding.request(from: line) {
            case .success(let request):
                verdicts.append(Command(rawValue: request.command).map { "ok \($0.rawValue)" } ?? "unknown command \(request.command)")
            case .failure(let error): verdicts.append(error.message)
            }
        }
        return .accepted(verdicts.joined(separator: "; "))
    }

    /// Valid inputs to start fuzzing from, by target name ("nifti", "checkpoint", "safetensors", "config", "control").
    public static func seeds(for target: String) throws -> [(name: String, bytes: [UInt8])] {
        switch target {
        case "nifti":
            var seeds: [(name: String, bytes: [UInt8])] = []
            let count = 6 * 5 * 4
            let int16Values: [Int16] = (0..<count).map { Int16($0 * 37 - 1000) }
            let floatValues: [Float] = (0..<count).map { Float($0) * 0.5 }
            let volumes: [(Datatype, [UInt8])] = [(.int16, NIfTIWriter.rawBytes(int16Values)), (.float32, NIfTIWriter.rawBytes(floatValues))]
            for (datatype, raw) in volumes {
                let header = NIfTIWriter.header(shape: (6, 5, 4), datatype: datatype, spacing: (0.7, 0.7, 5))
                for compressed in [false, true] {
                    let bytes = try NIfTIWriter.encode(header: header, rawData: raw, compressed: compressed)
                    seeds.append(("\(datatype)\(compressed ? ".nii.gz" : ".nii")", bytes))
                }
            }
            return seeds
        case "checkpoint":
            let architecture = try Architecture(width: 48, height: 48, depth: 48)
            let full = Checkpoint(architecture: architecture, parameters: .initial(for: architecture, seed: 1),
                                  metadata: ["note": "fuzz seed"]).encode()
            let small = SafeTensors.encode(["dense_1.bias": .init(shape: [1], values: [0.5])], metadata: ["input_size": "[48, 48, 48]"])
            return [("initial-48.safetensors", full), ("one-tensor.safetensors", small)]
        case "safetensors":
            return try seeds(for: "checkpoint").map { seed in
                let length = Int(seed.bytes[0..<8].enumerated().reduce(UInt64(0)) { $0 | UInt64($1.element) << (8 * UInt64($1.offset)) })
                let dataSize = UInt64(seed.bytes.count - 8 - length)
                let sizeBytes = (0..<8).map { UInt8(truncatingIfNeeded: dataSize >> (8 * UInt64($0))) }
                return (seed.name.replacingOccurrences(of: ".safetensors", with: ".header"), sizeBytes + Array(seed.bytes[8..<(8 + length)]))
            }
        case "config":
            let files = [
                "minimal.yaml": "state_dir: /var/lib/ctd\n",
                "sections.yaml": "model:\n  width: 128\n  height: 128\n  depth: 64\n  precision: auto\nretrain:\n  min_new_labels: 5\n  interval: 6h\n",
                "limits.yaml": "watch:\n  settle: 2s\n  rescan_interval: 5m\nlimits:\n  max_voxels: 268435456\n  min_free_bytes: 134217728\ncontrol:\n  max_clients: 8\n  idle_timeout: 5m\n",
            ]
            return files.sorted { $0.key < $1.key }.map { ($0.key, Array($0.value.utf8)) }
        case "control":
            let requests = Command.allCases.enumerated().map { index, command in
                Request(id: "\(index)", command: command, label: index % 2 == 0 ? "normal" : nil, limit: index % 3 == 0 ? 10 : nil,
                        target: index % 2 == 1 ? "scan.nii.gz" : nil, wait: index % 4 == 0 ? true : nil)
            }
            return try requests.map { ("\($0.command).jsonl", try ControlCoding.line($0)) }
        default:
            throw SeedError(target: target)
        }
    }

    public struct SeedError: Error, CustomStringConvertible {
        public let target: String
        public var description: String { "no fuzz target named \(target): use nifti, checkpoint, safetensors, config or control" }
    }

    public static let defaultScratchPath: String = {
        let folder = FileManager.default.fileExists(atPath: "/dev/shm") ? "/dev/shm" : NSTemporaryDirectory()
        return "\(folder)/ctd-fuzz-\(getpid()).nii"
    }()
}
