import Engine
import Testing
@testable import Model

/// One block (conv + ReLU → max-pool → BatchNorm) on a tiny input: the gradient of its input
/// (convolution backward-data, pooling and ReLU backward, BatchNorm backward) against central
/// finite differences of Σ r ⊙ output.
@Suite struct ConvBlockGradientTests {
    @Test func inputGradientMatchesFiniteDifferences() throws {
        let engine = try Engine(), stream = try Stream(engine: engine)
        let dims = [2, 3, 8, 7, 6]
        let inputDescriptor = MemoryDescriptor(dims: dims)
        let block = try ConvBlock(index: 1, engine: engine, batch: 2, input: inputDescriptor, inChannels: 3, outChannels: 16,
                                  size: [8, 7, 6], training: true, needsInputGradient: true, precision: .f32, layout: .any)
        let weights: [Float] = (0..<(16 * 3 * 27)).map { (i: Int) -> Float in Float((i * 7919) % 201 - 100) / 400 }
        try write(weights, into: block.weights, engine: engine, stream: stream)
        block.bias.write((0..<16).map { (c: Int) -> Float in Float(c % 5) * 0.02 })
        block.gamma.write((0..<16).map { (c: Int) -> Float in 0.8 + Float(c % 4) * 0.1 })
        block.beta.write((0..<16).map { (c: Int) -> Float in Float(c % 3) * 0.05 - 0.05 })
        try block.prepareWeights(stream: stream)

        let count = dims.reduce(1, *)
        let input: [Float] = (0..<count).map { (i: Int) -> Float in Float((i &* 2_654_435_761) % 1000) / 1000 }
        let outputCount = block.outputDescriptor.elementCount
        let r: [Float] = (0..<outputCount).map { (i: Int) -> Float in Float((i * 104_729) % 19 - 9) / 9 }
        let inputMemory = try Memory(inputDescriptor, engine: engine)

        func loss(_ values: [Float]) throws -> Double {
            inputMemory.write(values)
            try block.forward(inputMemory, training: true, stream: stream)
            let output = try read(block.output, engine: engine, stream: stream)
            return zip(output, r).reduce(0.0) { $0 + Double($1.0) * Double($1.1) }
        }

        _ = try loss(input)
        let outputGradient = try Memory(block.outputDescriptor, engine: engine)
        try write(r, into: outputGradient, engine: engine, stream: stream)
        try block.backward(outputGradient, input: inputMemory, stream: stream)
        let analytic = try #require(block.gradients?.input).read()

        let picks = analytic.indices.sorted { abs(analytic[$0]) > abs(analytic[$1]) }.prefix(12)
        var numeric: [Double] = [], exact: [Double] = []
        for index in picks {
            var plus = input, minus = input
            plus[index] += 1e-3
            minus[index] -= 1e-3
            numeric.append((try loss(plus) - loss(minus)) / 2e-3)
            exact.append(Double(analytic[index]))
        }
        let difference = zip(numeric, exact).map { ($0 - $1) * ($0 - $1) }.reduce(0, +).squareRoot()
        let size = exact.map { $0 * $0 }.reduce(0, +).squareRoot()
        #expect(size > 1e-3)
        #expect(difference <= 0.03 * size, "finite differences \(numeric) vs backward \(exact)")
    }

    private func write(_ values: [Float], into memory: Memory, engine: Engine, stream: Stream) throws {
        let plain = try Memory(MemoryDescriptor(dims: memory.descriptor.dims), engine: engine)
        plain.write(values)
        try Primitive.reorder(engine: engine, from: plain.descriptor, to: memory.descriptor).execute(on: stream, [.src: plain, .dst: memory])
    }

    private func read(_ memory: Memory, engine: Engine, stream: Stream) throws -> [Float] {
        let plain = try Memory(MemoryDescriptor(dims: memory.descriptor.dims), engine: engine)
        try Primitive.reorder(engine: engine, from: memory.descriptor, to: plain.descriptor).execute(on: stream, [.src: memory, .dst: plain])
        return plain.read()
    }
}
