import Engine
import SeededRandom
import Testing
@testable import Model

/// Grad-CAM's weights are the logit's gradient with respect to the pooled features, checked by
/// finite differences on the head; the map is that weighting of the last block's output.
@Suite struct GradCAMTests {
    @Test func theChannelWeightsAreTheLogitsGradientByFiniteDifferences() throws {
        let engine = try Engine()
        let channels = 8, spatial = 5
        let head = try DenseHead(engine: engine, batch: 1, channels: channels, training: false)
        var random = SeededGenerator(seed: 21)
        func values(_ count: Int, _ scale: Float) -> [Float] { (0..<count).map { _ in Float(random.nextUnit() * 2 - 1) * scale } }
        head.fc1Weight.write(values(head.hidden * channels, 0.5))
        head.fc1Bias.write(values(head.hidden, 0.1))
        head.fc2Weight.write(values(head.hidden, 0.5))
        head.fc2Bias.write([0.05])
        let activations = values(channels * spatial, 1)
        let output = try Memory(MemoryDescriptor(dims: [1, channels, spatial, 1, 1]), engine: engine)
        func logit(_ values: [Float]) -> Double {
            output.write(values)
            var unused = SeededGenerator(seed: 0)
            return Double(head.forward(output, dropout: false, generator: &unused)[0])
        }
        _ = logit(activations)
        let alpha = head.featureGradient(sample: 0)
        for c in 0..<channels {
            // Raising every voxel of channel c by ε raises its pooled feature by ε. ε is small, so
            // that few of the 512 ReLUs change side (the head is piecewise linear).
            let epsilon: Float = 2e-4
            var up = activations, down = activations
            for s in 0..<spatial { up[c * spatial + s] += epsilon; down[c * spatial + s] -= epsilon }
            let numeric = (logit(up) - logit(down)) / Double(2 * epsilon)
            #expect(abs(numeric - Double(alpha[c])) < 5e-3 * max(1, abs(numeric)), "channel \(c): \(numeric) vs \(alpha[c])")
        }
    }

    @Test func theMapCoversTheLastBlocksGridAndTheLogitIsTheNetworks() throws {
        let architecture = try Architecture(width: 64, height: 64, depth: 64)
        let network = try Network(architecture: architecture, batchSize: 1, trainable: false, precision: .f32)
        try network.load(.initial(for: architecture, seed: 3))
        var random = SeededGenerator(seed: 4)
        let sample = (0..<network.sampleSize).map { _ in Float(random.nextUnit()) }
        let (logit, map, size) = try network.gradCAM(for: sample)
        #expect(size == [2, 2, 2] && map.count == 8)
        #expect(map.allSatisfy { $0 >= 0 && $0.isFinite })
        #expect(logit == (try network.logits(for: sample))[0])
    }
}
