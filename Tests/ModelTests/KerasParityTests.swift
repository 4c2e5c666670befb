import CTDTestSupport
import Foundation
import Model
import Testing

/// The whole model's forward pass against Keras 3 / TensorFlow on the same weights and inputs.
/// Weights and inputs come from the integer-hash scheme "ctd-hash-v1" (scripts/reference_model.py),
/// so the fixture is a few numbers instead of a 5 MB checkpoint.
@Suite struct KerasParityTests {
    struct Fixture: Decodable {
        let scheme: String
        let size: [Int]
        let batch: Int
        let conv_weight_gain: Double
        let input_seed: UInt32
        let logits: [Double]
        let hash32_examples: [String: UInt32]
        let input_first: [Float]
    }

    static func fixture() throws -> Fixture {
        try JSONDecoder().decode(Fixture.self, from: Data(Fixtures.bytes("model_forward.json")))
    }

    /// lowbias32.
    static func hash32(_ value: UInt32) -> UInt32 {
        var x = value
        x ^= x >> 16; x &*= 0x7FEB_352D; x ^= x >> 15; x &*= 0x846C_A68B; x ^= x >> 16
        return x
    }

    static func unit(_ index: Int, _ seed: UInt32) -> Double {
        Double(hash32(UInt32(truncatingIfNeeded: index) ^ seed) >> 8) / Double(1 << 24)
    }

    static func weights(gain: Double) -> ParameterSet {
        var tensors: [String: [Float]] = [:]
        var inChannels = 1
        var k = 0
        func add(_ name: String, _ count: Int, _ value: (Double) -> Double) {
            let seed = UInt32(truncatingIfNeeded: (k + 1) &* 0x9E37_79B9)
            tensors[name] = (0..<count).map { Float(value(unit($0, seed))) }
            k += 1
        }
        for (index, filters) in Architecture.filters.enumerated() {
            let b = index + 1
            let a = gain * (6.0 / Double(27 * inChannels + 27 * filters)).squareRoot()
            add("conv\(b).weight", filters * inChannels * 27) { a * (2 * $0 - 1) }
            add("conv\(b).bias", filters) { 0.05 * (2 * $0 - 1) }
            add("bn\(b).weight", filters) { 0.9 + 0.2 * $0 }
            add("bn\(b).bias", filters) { 0.1 * (2 * $0 - 1) }
            add("bn\(b).running_mean", filters) { 0.05 * (2 * $0 - 1) }
            add("bn\(b).running_var", filters) { 0.5 + $0 }
            inChannels = filters
        }
        for (name, fanIn, fanOut) in [("fc1", 256, 512), ("fc2", 512, 1)] {
            let a = (6.0 / Double(fanIn + fanOut)).squareRoot()
            add("\(name).weight", fanIn * fanOut) { a * (2 * $0 - 1) }
            add("\(name).bias", fanOut) { 0.05 * (2 * $0 - 1) }
        }
        return ParameterSet(tensors: tensors)
    }

    @Test func hashMatchesThePythonScheme() throws {
        let fixture = try Self.fixture()
        #expect(fixture.scheme == "ctd-hash-v1")
        for (input, expected) in fixture.hash32_examples {
            #expect(Self.hash32(UInt32(input)!) == expected)
        }
        #expect((0..<4).map { Float(Self.unit($0, fixture.input_seed)) } == fixture.input_first)
    }

    @Test func forwardMatchesKeras() throws {
        let fixture = try Self.fixture()
        let architecture = try Architecture(width: fixture.size[0], height: fixture.size[1], depth: fixture.size[2])
        let network = try Network(architecture: architecture, batchSize: fixture.batch, trainable: false)
        try network.load(Self.weights(gain: fixture.conv_weight_gain))
        let inputs = (0..<(fixture.batch * network.sampleSize)).map { Float(Self.unit($0, fixture.input_seed)) }
        let logits = try network.logits(for: inputs)
        for (mine, keras) in zip(logits, fixture.logits) {
            #expect(abs(Double(mine) - keras) < 1e-4, "logit \(mine) vs Keras \(keras)")
        }
    }
}
