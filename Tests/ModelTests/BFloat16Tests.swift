import Model
import Testing

/// bf16 mixed precision against float32: the same model and inputs must give nearly the same
/// logits (within a few %) and gradients pointing the same way.
// bf16 needs AVX-512 (oneDNN has no bf16 convolutions on AVX2): skipped under ONEDNN_MAX_CPU_ISA=AVX2.
@Suite(.serialized, .enabled(if: Precision.bf16.runs(on: .effective))) struct BFloat16Tests {
    let architecture = try! Architecture(width: 48, height: 46, depth: 47)

    func inputs(_ count: Int) -> [Float] { (0..<count).map { Float(($0 &* 2_654_435_761) % 9973) / 9973 } }

    @Test func logitsAgreeWithFloat32() throws {
        let parameters = KerasParityTests.weights(gain: 3)
        var logits: [Precision: [Float]] = [:]
        for precision in Precision.allCases {
            let network = try Network(architecture: architecture, batchSize: 2, trainable: false, precision: precision)
            try network.load(parameters)
            logits[precision] = try network.logits(for: inputs(2 * network.sampleSize))
        }
        for (a, b) in zip(logits[.f32]!, logits[.bf16]!) {
            #expect(abs(a - b) <= 0.03 * max(1, abs(a)), "f32 \(a) vs bf16 \(b)")
        }
    }

    @Test func gradientsPointTheSameWay() throws {
        let parameters = ParameterSet.initial(for: architecture, seed: 4)
        var gradients: [Precision: ParameterSet] = [:]
        for precision in Precision.allCases {
            let network = try Network(architecture: architecture, batchSize: 2, trainable: true, precision: precision)
            try network.load(parameters)
            _ = try network.computeGradients(inputs: inputs(2 * network.sampleSize), labels: [0, 1], dropout: false)
            gradients[precision] = try network.gradients()
        }
        for name in gradients[.f32]!.tensors.keys.sorted() where !name.contains("bias") || name.hasPrefix("fc") {
            let a = gradients[.f32]![name]!, b = gradients[.bf16]![name]!
            let dot = zip(a, b).reduce(0.0) { $0 + Double($1.0) * Double($1.1) }
            let norms = (a.reduce(0.0) { $0 + Double($1 * $1) } * b.reduce(0.0) { $0 + Double($1 * $1) }).squareRoot()
            // Measured 0.94–0.99: bf16 rounding of activations flips a few ReLUs and max-pool
            // winners. Whether training still reaches the same accuracy is checked by training.
            #expect(dot / norms > 0.9, "\(name): cosine \(dot / norms)")
        }
    }

    @Test func trainingReducesTheLoss() throws {
        let network = try Network(architecture: architecture, batchSize: 2, trainable: true, precision: .bf16, seed: 2)
        try network.load(.initial(for: architecture, seed: 12))
        var settings = network.adamSettings
        settings.learningRate = 1e-3
        network.adamSettings = settings
        let batch = inputs(2 * network.sampleSize)
        let first = try network.trainStep(inputs: batch, labels: [1, 0]).loss
        var last = first
        for _ in 0..<15 { last = try network.trainStep(inputs: batch, labels: [1, 0]).loss }
        #expect(last < first * 0.5, "loss \(first) → \(last)")
        let parameters = try network.parameters()
        #expect(parameters.mismatches(with: architecture).isEmpty)
    }
}
