import Model
import Testing

/// The whole network's backward pass against central finite differences of its own loss, at the
/// smallest input size, with dropout off so the loss is a fixed function of the parameters.
@Suite(.serialized) struct GradientTests {
    let architecture = try! Architecture(width: 46, height: 47, depth: 48)

    func sampleInputs(_ count: Int, seed: UInt32) -> [Float] {
        var state = seed
        return (0..<count).map { _ in
            state = state &* 1_664_525 &+ 1_013_904_223
            return Float(state >> 8) / Float(1 << 24)
        }
    }

    @Test func everyParameterGradientMatchesFiniteDifferences() throws {
        let network = try Network(architecture: architecture, batchSize: 2, trainable: true)
        var parameters = ParameterSet.initial(for: architecture, seed: 7)
        // Non-trivial BatchNorm scales and shifts, so their gradients are exercised too.
        for block in 1...4 {
            parameters["bn\(block).weight"] = parameters["bn\(block).weight"]!.enumerated().map { 0.8 + 0.4 * Float($0.offset % 5) / 5 }
            parameters["bn\(block).bias"] = parameters["bn\(block).bias"]!.enumerated().map { 0.05 * Float($0.offset % 3) - 0.05 }
        }
        try network.load(parameters)
        let inputs = sampleInputs(2 * network.sampleSize, seed: 3)
        let labels: [Float] = [1, 0]
        _ = try network.computeGradients(inputs: inputs, labels: labels, dropout: false)
        let analytic = try network.gradients()

        func loss(_ p: ParameterSet) throws -> Double {
            try network.load(p)
            return try network.computeGradients(inputs: inputs, labels: labels, dropout: false).loss
        }

        for name in analytic.tensors.keys.sorted() {
            let g = analytic[name]!
            // The entries with the largest gradients carry the most signal above float32 noise.
            let picks = g.indices.sorted { abs(g[$0]) > abs(g[$1]) }.prefix(4)
            var numeric: [Double] = [], exact: [Double] = []
            for index in picks {
                let base = parameters[name]![index]
                let h = max(1e-3, abs(base) * 1e-2)
                var plus = parameters, minus = parameters
                plus[name]![index] = base + h
                minus[name]![index] = base - h
                numeric.append((try loss(plus) - loss(minus)) / Double(2 * h))
                exact.append(Double(g[index]))
            }
            let difference = zip(numeric, exact).map { ($0 - $1) * ($0 - $1) }.reduce(0, +).squareRoot()
            let size = exact.map { $0 * $0 }.reduce(0, +).squareRoot()
            #expect(size > 0, "\(name): gradient is all zero")
            // 2e-4 is the finite differences' own noise: float32 losses differ in the 7th digit,
            // divided by 2h. Biases right before a BatchNorm have gradients near that floor.
            #expect(difference <= 0.05 * size + 2e-4, "\(name): finite differences \(numeric) vs backward \(exact)")
        }
    }

    @Test func trainingStepsReduceTheLossOnAFixedBatch() throws {
        let network = try Network(architecture: architecture, batchSize: 2, trainable: true, seed: 1)
        try network.load(.initial(for: architecture, seed: 11))
        var settings = network.adamSettings
        settings.learningRate = 1e-3
        network.adamSettings = settings
        let inputs = sampleInputs(2 * network.sampleSize, seed: 5)
        let first = try network.trainStep(inputs: inputs, labels: [0, 1]).loss
        var last = first
        for _ in 0..<15 { last = try network.trainStep(inputs: inputs, labels: [0, 1]).loss }
        #expect(last < first * 0.5, "loss \(first) → \(last)")
        #expect(network.optimizerStep == 16)
    }

    @Test func inferenceIsDeterministicAndPerSample() throws {
        let network = try Network(architecture: architecture, batchSize: 2, trainable: false)
        try network.load(.initial(for: architecture, seed: 2))
        let inputs = sampleInputs(2 * network.sampleSize, seed: 9)
        let both = try network.logits(for: inputs)
        let firstAlone = try network.logits(for: Array(inputs.prefix(network.sampleSize)))
        #expect(both.count == 2 && firstAlone.count == 1)
        #expect(abs(both[0] - firstAlone[0]) < 1e-5, "running statistics make samples independent")
        #expect(try network.logits(for: inputs) == both)
    }
}
