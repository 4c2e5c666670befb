import CTDTestSupport
import Foundation
import Model
import Testing

/// Checkpoints: round trips, and a clear reason for every malformed file.
@Suite struct CheckpointTests {
    let architecture = try! Architecture(width: 48, height: 48, depth: 48)

    func header(_ json: String, data: [UInt8] = []) -> [UInt8] {
        let bytes = Array(json.utf8)
        return withUnsafeBytes(of: UInt64(bytes.count).littleEndian) { Array($0) } + bytes + data
    }

    func reason(_ bytes: [UInt8]) -> String? {
        do { _ = try SafeTensors.decode(bytes); return nil } catch { return error.reason }
    }

    @Test func roundTripsParametersOptimizerAndMetadata() throws {
        let parameters = ParameterSet.initial(for: architecture, seed: 3)
        var m = parameters, v = parameters
        for name in parameters.tensors.keys where name.contains("running_") { m[name] = nil; v[name] = nil }
        let checkpoint = Checkpoint(architecture: architecture, parameters: parameters,
                                    optimizer: OptimizerSnapshot(step: 42, m: m, v: v), metadata: ["run": "r1", "val_loss": "0.25"])
        let decoded = try Checkpoint.decode(checkpoint.encode())
        #expect(decoded == checkpoint)
    }

    @Test func fileReadsBackAndTheHeaderIsStandard() throws {
        let folder = TemporaryFolder()
        let checkpoint = Checkpoint(architecture: architecture, parameters: .initial(for: architecture, seed: 1))
        let path = folder.path + "/best.safetensors"
        try checkpoint.write(to: path)
        #expect(try Checkpoint.read(from: path) == checkpoint)
        let bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: path)))
        let length = Int(bytes[0]) | Int(bytes[1]) << 8 | Int(bytes[2]) << 16
        let json = try JSONSerialization.jsonObject(with: Data(bytes[8..<(8 + length)])) as! [String: Any]
        let conv1 = json["conv1.weight"] as! [String: Any]
        #expect(conv1["dtype"] as? String == "F32" && conv1["shape"] as? [Int] == [64, 1, 3, 3, 3])
        #expect((json["__metadata__"] as! [String: String])["input_size"] == "[48, 48, 48]")
        #expect((8 + length) % 8 == 0, "data 8-byte aligned")
    }

    @Test func malformedFilesGetAReason() {
        #expect(reason([1, 2, 3])?.contains("too short") == true)
        #expect(reason(header("{}")) == nil, "a file without tensors is valid safetensors")
        #expect(reason(withUnsafeBytes(of: UInt64(1 << 40).littleEndian) { Array($0) } + [0x7b, 0x7d])?.contains("header claims") == true)
        #expect(reason(header("{not json")) == "header is not valid JSON")
        #expect(reason(header("[1, 2]")) == "header is not a JSON object")
        #expect(reason(header(#"{"a": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]}}"#, data: [0, 0, 0, 0])) ==
                "a: data_offsets [0, 8] fall outside the 4 data bytes", "truncated data")
        #expect(reason(header(#"{"a": {"dtype": "F32", "shape": [3], "data_offsets": [0, 8]}}"#, data: [UInt8](repeating: 0, count: 8))) ==
                "a: shape [3] as F32 needs 12 bytes but data_offsets give 8")
        #expect(reason(header(#"{"a": {"dtype": "F32", "shape": [4294967296, 4294967296], "data_offsets": [0, 8]}}"#, data: [UInt8](repeating: 0, count: 8)))?
            .contains("absurdly large") == true)
        #expect(reason(header(#"{"a": {"dtype": "I64", "shape": [1], "data_offsets": [0, 8]}}"#, data: [UInt8](repeating: 0, count: 8)))?
            .contains("not supported") == true)
        #expect(reason(header(#"{"a": {"dtype": "F32", "shape": [-1], "data_offsets": [0, 4]}}"#, data: [UInt8](repeating: 0, count: 4)))?
            .contains("non-negative integers") == true)
        #expect(reason(header(#"{"a": {"dtype": "F32", "shape": [1], "data_offsets": [4, 8]}}"#, data: [UInt8](repeating: 0, count: 8)))?
            .contains("gap or overlap") == true)
        #expect(reason(header(#"{"a": {"dtype": "F32", "shape": [1], "data_offsets": [0, 4]}}"#, data: [UInt8](repeating: 0, count: 8))) ==
                "4 bytes of data belong to no tensor")
    }

    @Test func halfPrecisionTensorsAreWidened() throws {
        let f16 = Float16(1.5).bitPattern, bf16: UInt16 = 0x3FC0  // 1.5 in both
        let bytes = header(#"{"a": {"dtype": "F16", "shape": [1], "data_offsets": [0, 2]}, "b": {"dtype": "BF16", "shape": [1], "data_offsets": [2, 4]}}"#,
                           data: [UInt8(f16 & 0xff), UInt8(f16 >> 8), UInt8(bf16 & 0xff), UInt8(bf16 >> 8)])
        let decoded = try SafeTensors.decode(bytes)
        #expect(decoded.tensors["a"]?.values == [1.5] && decoded.tensors["b"]?.values == [1.5])
    }

    @Test func checkpointRulesNameTheProblem() throws {
        var tensors = [String: SafeTensors.Tensor]()
        for (name, shape) in architecture.parameterShapes { tensors[name] = SafeTensors.Tensor(shape: shape, values: [Float](repeating: 0, count: shape.reduce(1, *))) }
        func checkpointReason(_ tensors: [String: SafeTensors.Tensor], _ metadata: [String: String]) -> String? {
            do { _ = try Checkpoint.decode(SafeTensors.encode(tensors, metadata: metadata)); return nil } catch { return error.reason }
        }
        #expect(checkpointReason(tensors, ["input_size": "[48, 48, 48]"]) == nil, "a model from elsewhere with just input_size loads")
        #expect(checkpointReason(tensors, [:])?.contains("no input_size") == true)
        #expect(checkpointReason(tensors, ["input_size": "[48, 48, 32]"])?.contains("at least 46") == true)
        #expect(checkpointReason(tensors, ["input_size": "[48, 48, 48]", "format_version": "9"])?.contains("upgrade ctd") == true)
        var wrong = tensors
        wrong["fc1.weight"] = SafeTensors.Tensor(shape: [256, 512], values: wrong["fc1.weight"]!.values)
        #expect(checkpointReason(wrong, ["input_size": "[48, 48, 48]"]) == "fc1.weight has shape [256, 512], expected [512, 256]")
        var missing = tensors
        missing["bn2.running_var"] = nil
        #expect(checkpointReason(missing, ["input_size": "[48, 48, 48]"]) == "missing tensors: bn2.running_var")
    }

    @Test func missingAndOversizeFilesAreRefused() throws {
        let folder = TemporaryFolder()
        #expect(throws: CheckpointError(file: folder.path + "/none.safetensors", reason: "no such file")) {
            try Checkpoint.read(from: folder.path + "/none.safetensors")
        }
        let path = folder.write([UInt8](repeating: 0, count: 100), to: "big.safetensors")
        #expect(throws: CheckpointError(file: path, reason: "100 bytes exceed the checkpoint limit of 50")) {
            try Checkpoint.read(from: path, maxBytes: 50)
        }
    }

    @Test func resumingFromAnOptimizerSnapshotContinuesExactly() throws {
        let small = try Architecture(width: 46, height: 46, depth: 46)
        let inputs: [Float] = (0..<(2 * 46 * 46 * 46)).map { (index: Int) -> Float in Float((index * 7919) % 1000) / 1000 }
        let original = try Network(architecture: small, batchSize: 2, trainable: true, seed: 5)
        try original.load(.initial(for: small, seed: 5))
        for _ in 0..<3 { _ = try original.computeGradients(inputs: inputs, labels: [1, 0], dropout: false); _ = try original.trainStep(inputs: inputs, labels: [1, 0]) }
        let saved = try Checkpoint.decode(Checkpoint(architecture: small, parameters: original.parameters(), optimizer: original.optimizerSnapshot()).encode())
        let resumed = try Network(architecture: small, batchSize: 2, trainable: true, seed: 5)
        try resumed.load(saved.parameters)
        try resumed.restoreOptimizer(saved.optimizer!)
        #expect(resumed.optimizerStep == original.optimizerStep)
        let a = try original.computeGradients(inputs: inputs, labels: [1, 0], dropout: false)
        let b = try resumed.computeGradients(inputs: inputs, labels: [1, 0], dropout: false)
        #expect(a.loss == b.loss)
    }
}
