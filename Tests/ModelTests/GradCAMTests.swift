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

    /// A 64³ float32 network with random weights and BatchNorm statistics far from the identity.
    private func network(seed: UInt64) throws -> Network {
        let architecture = try Architecture(width: 64, height: 64, depth: 64)
        let network = try Network(architecture: architecture, batchSize: 1, trainable: false, precision: .f32)
        var parameters = ParameterSet.initial(for: architecture, seed: seed)
        var random = SeededGenerator(seed: seed + 1)
        for n in 1...4 {
            let count = parameters["bn\(n).weight"]!.count
            parameters.tensors["bn\(n).weight"] = (0..<count).map { _ in Float(0.5 + random.nextUnit()) }
            parameters.tensors["bn\(n).running_var"] = (0..<count).map { _ in Float(0.2 + 2 * random.nextUnit()) }
            parameters.tensors["bn\(n).running_mean"] = (0..<count).map { _ in Float(random.nextUnit() - 0.5) * 0.1 }
        }
        try network.load(parameters)
        return network
    }

    private func sample(_ network: Network, seed: UInt64) -> [Float] {
        var random = SeededGenerator(seed: seed)
        return (0..<network.sampleSize).map { _ in Float(random.nextUnit()) }
    }

    @Test func theMapIsOnTheExplainedBlocksConvolutionAndTheLogitIsTheNetworks() throws {
        let network = try network(seed: 3)
        let sample = sample(network, seed: 4)
        let map = try network.gradCAM(for: sample)
        // 64 → 62 → 31 → 29 → 14 → 12: block 2's convolution, one voxel per 4 input voxels from 8.5.
        #expect(network.explainedBlock == 2 && map.block == 2 && map.size == [12, 12, 12] && map.values.count == 1728)
        #expect(map.origin == 8.5 && map.step == 4)
        #expect(map.values.allSatisfy { $0 >= 0 && $0.isFinite })
        #expect(map.logit == (try network.logits(for: sample))[0])
    }

    /// On the last block the gradient reaches the convolution through the head's average, one
    /// BatchNorm and one pooling, so each channel's weight has a closed form: α_c · γ_c / √(σ²_c + ε)
    /// over the pooled grid, times the share of windows whose maximum passes the ReLU, over the grid.
    @Test func onTheLastBlockTheChannelWeightsAreTheClosedForm() throws {
        let network = try network(seed: 5)
        let map = try network.gradCAM(for: sample(network, seed: 6), block: 3)
        let alpha = network.head.featureGradient(sample: 0)
        let last = network.blocks[3]
        let (convolved, dims) = try #require(try last.convolutionOutput(engine: network.engine, stream: network.stream))
        let parameters = try network.parameters()
        let gamma = parameters["bn4.weight"]!, variance = parameters["bn4.running_var"]!
        #expect(dims == [1, 256, 4, 4, 4] && map.size == [4, 4, 4])
        var expected = [Float](repeating: 0, count: 64)
        for c in 0..<256 {
            var live = 0
            for x in 0..<2 { for y in 0..<2 { for z in 0..<2 {
                var peak: Float = 0
                for dx in 0..<2 { for dy in 0..<2 { for dz in 0..<2 { peak = max(peak, convolved[c * 64 + ((2 * x + dx) * 4 + 2 * y + dy) * 4 + 2 * z + dz]) } } }
                if peak > 0 { live += 1 }
            } } }
            let weight = alpha[c] * gamma[c] / (variance[c] + 1e-3).squareRoot() / 8 * Float(live) / 64
            for s in 0..<64 { expected[s] += weight * convolved[c * 64 + s] }
        }
        expected = expected.map { max(0, $0) }
        let scale = expected.max() ?? 1
        #expect(scale > 0)
        for s in 0..<64 { #expect(abs(map.values[s] - expected[s]) <= 1e-4 * scale, "voxel \(s): \(map.values[s]) vs \(expected[s])") }
    }

    /// The gradient through ReLU + 2³ max pooling, by finite differences on the pre-activations.
    @Test func poolingPassesEachWindowsGradientToItsMaximumAfterTheReLU() {
        var random = SeededGenerator(seed: 8)
        let channels = 2, inputSize = [4, 5, 4], pooledSize = [2, 2, 2]   // y's last voxel is dropped
        let count = channels * 80
        var pre = (0..<count).map { _ in Float(random.nextUnit() * 2 - 1) }
        // One window where the ReLU leaves nothing.
        for dx in 0..<2 { for dy in 0..<2 { for dz in 0..<2 { pre[((0 + dx) * 5 + 2 + dy) * 4 + 0 + dz] = -0.5 - Float(dx + dy + dz) * 0.1 } } }
        let gradient = (0..<(channels * 8)).map { _ in Float(random.nextUnit() * 2 - 1) }
        func objective(_ pre: [Float]) -> Double {
            var total = 0.0
            for c in 0..<channels { for x in 0..<2 { for y in 0..<2 { for z in 0..<2 {
                var peak: Float = 0
                for dx in 0..<2 { for dy in 0..<2 { for dz in 0..<2 { peak = max(peak, pre[c * 80 + ((2 * x + dx) * 5 + 2 * y + dy) * 4 + 2 * z + dz]) } } }
                total += Double(gradient[c * 8 + (x * 2 + y) * 2 + z]) * Double(peak)
            } } } }
            return total
        }
        let routed = MaxPoolGradient.route(gradient, pooledSize: pooledSize, input: pre.map { max(0, $0) }, inputSize: inputSize, channels: channels)
        for i in 0..<count {
            var up = pre, down = pre
            up[i] += 1e-3; down[i] -= 1e-3
            let numeric = (objective(up) - objective(down)) / 2e-3
            #expect(abs(numeric - Double(routed[i])) < 1e-3, "voxel \(i): \(numeric) vs \(routed[i])")
        }
        #expect(routed.filter { $0 != 0 }.count <= channels * 8 - 1, "one voxel per live window at most")
    }

    /// The convolution's data gradient against a naive one from the canonical weights.
    @Test func theDataGradientIsTheNaiveTransposedConvolution() throws {
        let network = try network(seed: 9)
        let block = network.blocks[3]
        let inputDims = block.inputDescriptor.dims  // [1, 128, 6, 6, 6] at 64³
        let (cin, n) = (inputDims[1], inputDims[2])
        let m = n - 2
        var random = SeededGenerator(seed: 10)
        let outputGradient = (0..<(256 * m * m * m)).map { _ in Float(random.nextUnit() * 2 - 1) }
        let gradient = try ConvolutionDataGradient(engine: network.engine, block: block).run(outputGradient, stream: network.stream)
        let weights = try network.parameters()["conv4.weight"]!  // [out, in, 3, 3, 3]
        var naive = [Double](repeating: 0, count: cin * n * n * n)
        for o in 0..<256 { for x in 0..<m { for y in 0..<m { for z in 0..<m {
            let g = Double(outputGradient[((o * m + x) * m + y) * m + z])
            for i in 0..<cin { for a in 0..<3 { for b in 0..<3 { for c in 0..<3 {
                naive[((i * n + x + a) * n + y + b) * n + z + c] += g * Double(weights[(((o * cin + i) * 3 + a) * 3 + b) * 3 + c])
            } } } }
        } } } }
        #expect(inputDims == [1, 128, 6, 6, 6] && gradient.count == naive.count)
        let scale = naive.map(abs).max() ?? 1
        for (index, value) in naive.enumerated() { #expect(abs(Double(gradient[index]) - value) <= 1e-4 * scale, "input \(index)") }
    }
}
