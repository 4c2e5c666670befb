import Engine
import Testing
@testable import Model

/// BatchNorm's running statistics: after many training-mode passes over one fixed batch they equal
/// that batch's statistics (Keras's momentum 0.99), so the block's inference output must reproduce
/// its training-mode output. Checked per block: through the whole network at test sizes the last
/// block normalises a single voxel per sample, which makes the comparison ill-conditioned.
@Suite struct RunningStatisticsTests {
    @Test(arguments: Precision.allCases.filter { $0.runs(on: .effective) }, [1, 3])
    func inferenceReproducesTrainingModeOnAMemorisedBatch(precision: Precision, inChannels: Int) throws {
        let engine = try Engine(), stream = try Stream(engine: engine)
        let size = [10, 9, 8]
        let type: DataType = precision == .f32 ? .f32 : .bf16
        let inputDescriptor = MemoryDescriptor(dims: [2, inChannels] + size, type: type, layout: precision == .f32 ? .plain : .channelsLast)
        let block = try ConvBlock(index: 1, engine: engine, batch: 2, input: inputDescriptor, inChannels: inChannels, outChannels: 16,
                                  size: size, training: true, needsInputGradient: false, precision: precision,
                                  layout: precision.activationLayout)
        let plainWeights = try Memory(MemoryDescriptor(dims: block.weights.descriptor.dims), engine: engine)
        plainWeights.write((0..<(16 * inChannels * 27)).map { (i: Int) -> Float in Float((i * 7919) % 201 - 100) / 300 })
        try Primitive.reorder(engine: engine, from: plainWeights.descriptor, to: block.weights.descriptor)
            .execute(on: stream, [.src: plainWeights, .dst: block.weights])
        block.gamma.write((0..<16).map { (c: Int) -> Float in 0.8 + Float(c % 4) * 0.1 })
        block.beta.write((0..<16).map { (c: Int) -> Float in Float(c % 3) * 0.05 })
        // Running statistics start at 0, so after n passes they are off by 0.99^n of their value.
        block.runningVariance.write([Float](repeating: 0, count: 16))
        try block.prepareWeights(stream: stream)
        let plainInput = try Memory(MemoryDescriptor(dims: [2, inChannels] + size), engine: engine)
        plainInput.write((0..<(2 * inChannels * 720)).map { (i: Int) -> Float in Float((i &* 2_654_435_761) % 1000) / 1000 })
        let input = try Memory(inputDescriptor, engine: engine)
        try Primitive.reorder(engine: engine, from: plainInput.descriptor, to: inputDescriptor).execute(on: stream, [.src: plainInput, .dst: input])

        func output() throws -> [Float] {
            let plain = try Memory(MemoryDescriptor(dims: block.output.descriptor.dims), engine: engine)
            try Primitive.reorder(engine: engine, from: block.output.descriptor, to: plain.descriptor).execute(on: stream, [.src: block.output, .dst: plain])
            return plain.read()
        }
        for _ in 0..<2000 { try block.forward(input, training: true, stream: stream) }
        let training = try output()
        try block.forward(input, training: false, stream: stream)
        let inference = try output()
        let tolerance: Float = precision == .f32 ? 1e-3 : 3e-2
        let worst = zip(training, inference).map { abs($0 - $1) }.max()!
        #expect(worst <= tolerance, "max |training − inference| = \(worst)")
    }
}

/// `startRunningStatistics()`: the first training batch's statistics become the running ones, so
/// inference on that batch matches training mode after one step instead of a thousand.
@Suite struct StartRunningStatisticsTests {
    @Test func oneStepSuffices() throws {
        let architecture = try Architecture(width: 64, height: 64, depth: 64)
        let network = try Network(architecture: architecture, batchSize: 2, trainable: true, precision: .f32)
        try network.load(.initial(for: architecture, seed: 5))
        let inputs: [Float] = (0..<(2 * network.sampleSize)).map { (i: Int) -> Float in Float((i &* 2_654_435_761) % 1000) / 1000 }
        let before = try network.logits(for: inputs)
        network.startRunningStatistics()
        let training = try network.computeGradients(inputs: inputs, labels: [0, 1], dropout: false).logits
        let after = try network.logits(for: inputs)
        for index in 0..<2 {
            #expect(abs(after[index] - training[index]) <= 1e-3 * max(1, abs(training[index])), "after \(after) vs training \(training)")
        }
        #expect(zip(before, training).contains { abs($0 - $1) > 1e-2 }, "the placeholders really were off")
        let parameters = try network.parameters()
        #expect(parameters["bn1.running_var"]!.allSatisfy { $0 < 0.5 }, "the placeholder variance of 1 is gone")
    }
}

/// `recalibrateStatistics`: averages over the given batches replace the moving statistics.
@Suite struct RecalibrationTests {
    @Test func oneBatchGivesTrainingModeOutputs() throws {
        let architecture = try Architecture(width: 64, height: 64, depth: 64)
        let network = try Network(architecture: architecture, batchSize: 2, trainable: true, precision: .f32)
        try network.load(.initial(for: architecture, seed: 6))
        let inputs: [Float] = (0..<(2 * network.sampleSize)).map { (i: Int) -> Float in Float((i &* 2_654_435_761) % 1000) / 1000 }
        try network.recalibrateStatistics(inputs)
        let training = try network.computeGradients(inputs: inputs, labels: [0, 1], dropout: false).logits
        try network.recalibrateStatistics(inputs)   // computeGradients moved the statistics again
        let inference = try network.logits(for: inputs)
        for index in 0..<2 {
            #expect(abs(inference[index] - training[index]) <= 1e-3 * max(1, abs(training[index])), "inference \(inference) vs training \(training)")
        }
    }

    @Test func manyBatchesAverage() throws {
        let architecture = try Architecture(width: 46, height: 46, depth: 46)
        let network = try Network(architecture: architecture, batchSize: 2, trainable: true, precision: .f32)
        try network.load(.initial(for: architecture, seed: 6))
        let a: [Float] = (0..<(2 * network.sampleSize)).map { (i: Int) -> Float in Float((i &* 2_654_435_761) % 1000) / 1000 }
        let b = a.map { $0 * 0.5 }
        try network.recalibrateStatistics(a)
        let first = try network.parameters()
        try network.recalibrateStatistics(b)
        let second = try network.parameters()
        try network.recalibrateStatistics(a + b)
        let both = try network.parameters()
        for name in ["bn1.running_mean", "bn1.running_var"] {
            for c in 0..<8 {
                let expected = (first[name]![c] + second[name]![c]) / 2
                #expect(abs(both[name]![c] - expected) <= 1e-5 * max(1e-3, abs(expected)), "\(name)[\(c)]")
            }
        }
    }
}
