import Engine
import Testing

/// Each oneDNN operation against the naive reference, in plain and in oneDNN-chosen layouts.
@Suite struct PrimitiveTests {
    let engine: Engine
    let stream: Stream

    init() throws {
        engine = try Engine()
        stream = try Stream(engine: engine)
    }

    func memory(_ dims: [Int], _ values: [Float]? = nil) throws -> Memory {
        let memory = try Memory(MemoryDescriptor(dims: dims), engine: engine)
        if let values { memory.write(values) }
        return memory
    }

    /// Copies `memory` into the layout `target` (a no-op copy when equal).
    func reordered(_ memory: Memory, to target: MemoryDescriptor) throws -> Memory {
        let out = try Memory(target, engine: engine)
        try Primitive.reorder(engine: engine, from: memory.descriptor, to: target).execute(on: stream, [.src: memory, .dst: out])
        return out
    }

    @Test(arguments: [false, true])
    func convolutionForwardMatchesNaive(relu: Bool) throws {
        let s = Naive.Shape5(n: 2, c: 3, x: 6, y: 5, z: 7)
        let src = testValues(s.count, seed: 1), weights = testValues(4 * 3 * 27, seed: 2), bias = testValues(4, seed: 3)
        let expected = Naive.conv(src, s, weights: weights, bias: bias, outChannels: 4, relu: relu)
        let dstDims = [2, 4, 4, 3, 5]
        let conv = try Primitive.convolutionForward(
            engine: engine, src: MemoryDescriptor(dims: [2, 3, 6, 5, 7]), weights: MemoryDescriptor(dims: [4, 3, 3, 3, 3]),
            bias: MemoryDescriptor(dims: [4]), dst: MemoryDescriptor(dims: dstDims), mode: .training, relu: relu)
        let dst = try memory(dstDims)
        try conv.execute(on: stream, [.src: try memory([2, 3, 6, 5, 7], src), .weights: try memory([4, 3, 3, 3, 3], weights),
                                       .bias: try memory([4], bias), .dst: dst])
        #expect(maxDifference(dst.read(), expected.values) < 1e-5)
    }

    @Test func convolutionInChosenLayoutsMatchesPlain() throws {
        let s = Naive.Shape5(n: 2, c: 16, x: 5, y: 5, z: 5)
        let src = testValues(s.count, seed: 4), weights = testValues(32 * 16 * 27, seed: 5), bias = testValues(32, seed: 6)
        let expected = Naive.conv(src, s, weights: weights, bias: bias, outChannels: 32, relu: true)
        let conv = try Primitive.convolutionForward(
            engine: engine, src: MemoryDescriptor(dims: [2, 16, 5, 5, 5], layout: .any),
            weights: MemoryDescriptor(dims: [32, 16, 3, 3, 3], layout: .any), bias: MemoryDescriptor(dims: [32]),
            dst: MemoryDescriptor(dims: [2, 32, 3, 3, 3], layout: .any), mode: .inference, relu: true)
        let srcMD = try #require(conv.memoryDescriptor(for: .src)), dstMD = try #require(conv.memoryDescriptor(for: .dst))
        let weightsMD = try #require(conv.memoryDescriptor(for: .weights))
        let dst = try Memory(dstMD, engine: engine)
        try conv.execute(on: stream, [.src: try reordered(try memory([2, 16, 5, 5, 5], src), to: srcMD),
                                       .weights: try reordered(try memory([32, 16, 3, 3, 3], weights), to: weightsMD),
                                       .bias: try memory([32], bias), .dst: dst])
        let plain = try reordered(dst, to: MemoryDescriptor(dims: [2, 32, 3, 3, 3]))
        #expect(maxDifference(plain.read(), expected.values) < 1e-4)
        #expect(!conv.implementation.isEmpty)
    }

    @Test func maxPoolForwardMatchesNaive() throws {
        let s = Naive.Shape5(n: 2, c: 3, x: 7, y: 6, z: 5)   // odd sizes: the last row is dropped
        let src = testValues(s.count, seed: 7)
        let expected = Naive.maxPool(src, s)
        let pool = try Primitive.maxPoolForward(engine: engine, src: MemoryDescriptor(dims: [2, 3, 7, 6, 5]),
                                                dst: MemoryDescriptor(dims: [2, 3, 3, 3, 2]), mode: .training)
        let dst = try memory([2, 3, 3, 3, 2])
        let workspace = try Memory(try #require(pool.memoryDescriptor(for: .workspace)), engine: engine)
        try pool.execute(on: stream, [.src: try memory([2, 3, 7, 6, 5], src), .dst: dst, .workspace: workspace])
        #expect(dst.read() == expected.values)
    }

    @Test(arguments: [Primitive.Mode.training, .inference])
    func batchNormForwardMatchesNaive(mode: Primitive.Mode) throws {
        let s = Naive.Shape5(n: 2, c: 3, x: 4, y: 3, z: 5)
        let src = testValues(s.count, seed: 8).map { $0 * 3 + 1 }
        let gamma = [1.5, 0.5, -1].map(Float.init), beta = [0.1, -0.2, 0.3].map(Float.init)
        let running: (mean: [Float], variance: [Float]) = ([0.5, -0.25, 1], [2, 0.5, 1.5])
        let expected = Naive.batchNorm(src, s, gamma: gamma, beta: beta, epsilon: 1e-3, running: mode == .inference ? running : nil)
        let dims = [2, 3, 4, 3, 5]
        let bn = try Primitive.batchNormForward(engine: engine, data: MemoryDescriptor(dims: dims), epsilon: 1e-3, mode: mode)
        let dst = try memory(dims)
        let mean = try memory([3], mode == .inference ? running.mean : nil), variance = try memory([3], mode == .inference ? running.variance : nil)
        try bn.execute(on: stream, [.src: try memory(dims, src), .dst: dst, .scale: try memory([3], gamma), .shift: try memory([3], beta),
                                     .mean: mean, .variance: variance])
        #expect(maxDifference(dst.read(), expected.values) < 1e-5)
        if mode == .training {
            #expect(maxDifference(mean.read(), expected.mean.map(Float.init)) < 1e-6)
            #expect(maxDifference(variance.read(), expected.variance.map(Float.init)) < 1e-5)
        }
    }

    @Test func reorderRoundTripsThroughBF16() throws {
        let values = testValues(64, seed: 9)
        let f32 = try memory([4, 16], values)
        let bf16 = try reordered(f32, to: MemoryDescriptor(dims: [4, 16], type: .bf16))
        let back = try reordered(bf16, to: MemoryDescriptor(dims: [4, 16]))
        // bf16 keeps 8 bits of mantissa: relative error ≤ 2^-8.
        #expect(zip(back.read(), values).allSatisfy { abs($0 - $1) <= abs($1) / 256 + 1e-30 })
        #expect(bf16.read() == back.read())
    }

    @Test func engineReportsItsVersion() {
        #expect(Engine.libraryVersion.hasPrefix("2."))
    }
}
