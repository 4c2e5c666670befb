import AtomicFile
import Foundation

/// A saved model: the architecture's input size, every parameter, optionally Adam's state (so a
/// resumed run continues exactly, schedule included), and free-form metadata (run id, metrics,
/// preprocessing). Stored as safetensors with the names and layouts of `Architecture.parameterShapes`.
public struct Checkpoint: Sendable, Equatable {
    public static let format = "ctd-checkpoint"
    public static let formatVersion = 1

    public var architecture: Architecture
    public var parameters: ParameterSet
    public var optimizer: OptimizerSnapshot?
    /// Extra string metadata; the keys `format`, `format_version`, `input_size` and
    /// `optimizer_step` are managed by the checkpoint itself.
    public var metadata: [String: String]

    public init(architecture: Architecture, parameters: ParameterSet, optimizer: OptimizerSnapshot? = nil, metadata: [String: String] = [:]) {
        self.architecture = architecture
        self.parameters = parameters
        self.optimizer = optimizer
        self.metadata = metadata
    }

    public func encode() -> [UInt8] {
        var tensors: [String: SafeTensors.Tensor] = [:]
        for (name, shape) in architecture.parameterShapes {
            tensors[name] = SafeTensors.Tensor(shape: shape, values: parameters[name]!)
        }
        var meta = metadata
        meta["format"] = Self.format
        meta["format_version"] = String(Self.formatVersion)
        meta["input_size"] = "[\(architecture.width), \(architecture.height), \(architecture.depth)]"
        if let optimizer {
            let shapes = Dictionary(uniqueKeysWithValues: architecture.parameterShapes)
            for (name, values) in optimizer.m.tensors { tensors["optimizer.m.\(name)"] = SafeTensors.Tensor(shape: shapes[name]!, values: values) }
            for (name, values) in optimizer.v.tensors { tensors["optimizer.v.\(name)"] = SafeTensors.Tensor(shape: shapes[name]!, values: values) }
            meta["optimizer_step"] = String(optimizer.step)
        }
        return SafeTensors.encode(tensors, metadata: meta)
    }

    /// Decodes and checks a checkpoint: names and shapes must be exactly the model's.
    public static func decode(_ bytes: [UInt8]) throws(SafeTensors.FormatError) -> Checkpoint {
        let (tensors, metadata) = try SafeTensors.decode(bytes)
        let layout = try checkLayout(shapes: tensors.mapValues(\.shape), metadata: metadata)
        var parameters: [String: [Float]] = [:]
        var m: [String: [Float]] = [:], v: [String: [Float]] = [:]
        for (name, tensor) in tensors {
            if name.hasPrefix(Self.firstMomentPrefix) { m[String(name.dropFirst(Self.firstMomentPrefix.count))] = tensor.values }
            else if name.hasPrefix(Self.secondMomentPrefix) { v[String(name.dropFirst(Self.secondMomentPrefix.count))] = tensor.values }
            else { parameters[name] = tensor.values }
        }
        let optimizer = layout.optimizerStep.map { OptimizerSnapshot(step: $0, m: ParameterSet(tensors: m), v: ParameterSet(tensors: v)) }
        var extra = metadata
        for key in ["format", "format_version", "input_size", "optimizer_step"] { extra[key] = nil }
        return Checkpoint(architecture: layout.architecture, parameters: ParameterSet(tensors: parameters), optimizer: optimizer, metadata: extra)
    }

    static let firstMomentPrefix = "optimizer.m.", secondMomentPrefix = "optimizer.v."

    /// Checks a checkpoint's layout without its values: the format version, the input size,
    /// every tensor's name and shape against the architecture, and the optimizer state's
    /// completeness. Gives the architecture and Adam's step (nil: no optimizer state).
    public static func checkLayout(shapes: [String: [Int]], metadata: [String: String])
        throws(SafeTensors.FormatError) -> (architecture: Architecture, optimizerStep: Int?) {
        if let version = metadata["format_version"].flatMap(Int.init), version > formatVersion {
            throw SafeTensors.FormatError(reason: "written by a newer ctd (checkpoint format \(version), this ctd reads up to \(formatVersion)): upgrade ctd")
        }
        guard let sizeText = metadata["input_size"] else {
            throw SafeTensors.FormatError(reason: "__metadata__ has no input_size (add e.g. \"input_size\": \"[128, 128, 64]\")")
        }
        let size = sizeText.split(whereSeparator: { "[], ".contains($0) }).compactMap { Int($0) }
        guard size.count == 3 else { throw SafeTensors.FormatError(reason: "input_size \"\(sizeText)\" is not three integers") }
        let architecture: Architecture
        do { architecture = try Architecture(width: size[0], height: size[1], depth: size[2]) } catch {
            throw SafeTensors.FormatError(reason: error.description)
        }
        let expected = Dictionary(uniqueKeysWithValues: architecture.parameterShapes)
        var parameters = Set<String>(), m = Set<String>(), v = Set<String>()
        for (name, shape) in shapes.sorted(by: { $0.key < $1.key }) {
            var base = name
            if name.hasPrefix(firstMomentPrefix) { base = String(name.dropFirst(firstMomentPrefix.count)); m.insert(base) }
            else if name.hasPrefix(secondMomentPrefix) { base = String(name.dropFirst(secondMomentPrefix.count)); v.insert(base) }
            else { parameters.insert(name) }
            guard let wanted = expected[base] else { throw SafeTensors.FormatError(reason: "unexpected tensor \(name)") }
            guard shape == wanted else { throw SafeTensors.FormatError(reason: "\(name) has shape \(shape), expected \(wanted)") }
        }
        let missing = architecture.parameterShapes.map(\.name).filter { !parameters.contains($0) }
        guard missing.isEmpty else { throw SafeTensors.FormatError(reason: "missing tensors: \(missing.joined(separator: ", "))") }
        guard let stepText = metadata["optimizer_step"] else { return (architecture, nil) }
        guard let step = Int(stepText), step >= 0, m == v, !m.isEmpty else {
            throw SafeTensors.FormatError(reason: "optimizer state is incomplete")
        }
        return (architecture, step)
    }

    /// Writes atomically (temporary file, fsync, rename): a crash leaves the old file or the new one.
    public func write(to path: String) throws(AtomicFile.WriteError) {
        try AtomicFile.write(encode(), to: path)
    }

    /// Reads and checks `path`; files over `maxBytes` are refused before reading.
    public static func read(from path: String, maxBytes: Int = 1 << 30) throws(CheckpointError) -> Checkpoint {
        let size: Int
        do {
            let attributes = try FileManager.default.attributesOfItem(atPath: path)
            guard (attributes[.type] as? FileAttributeType) == .typeRegular else { throw CheckpointError(file: path, reason: "not a regular file") }
            size = (attributes[.size] as? NSNumber)?.intValue ?? 0
        } catch let error as CheckpointError {
            throw error
        } catch {
            throw CheckpointError(file: path, reason: FileManager.default.fileExists(atPath: path) ? "cannot read" : "no such file")
        }
        guard size <= maxBytes else { throw CheckpointError(file: path, reason: "\(size) bytes exceed the checkpoint limit of \(maxBytes)") }
        guard let data = FileManager.default.contents(atPath: path) else { throw CheckpointError(file: path, reason: "cannot read") }
        do { return try decode([UInt8](data)) } catch { throw CheckpointError(file: path, reason: error.reason) }
    }
}

/// Adam's state: its step count and both moments of every trainable tensor, in canonical layout.
public struct OptimizerSnapshot: Sendable, Equatable {
    public var step: Int
    public var m: ParameterSet
    public var v: ParameterSet

    public init(step: Int, m: ParameterSet, v: ParameterSet) {
        self.step = step
        self.m = m
        self.v = v
    }
}

/// A checkpoint file that cannot be used; `description` reads "<file>: <reason>".
public struct CheckpointError: Error, CustomStringConvertible, Equatable, Sendable {
    public let file: String
    public let reason: String
    public var description: String { "\(file): \(reason)" }

    public init(file: String, reason: String) {
        self.file = file
        self.reason = reason
    }
}
