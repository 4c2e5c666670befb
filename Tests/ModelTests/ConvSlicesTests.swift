import Engine
import Testing
@testable import Model

/// The first block's piecewise convolution + ReLU + pooling against a naive reference: the
/// pooled output, and the weight and bias gradients summed over the pieces.
@Suite(.serialized) struct ConvSlicesTests {
    let engine: Engine
    let stream: Stream
    // batch 2, one channel, 11×8×9 → conv 9×6×7 → pooled 4×3×3 (the odd x-slice is dropped, as Keras does)
    let batch = 2, channels = 16

    init() throws {
        engine = try Engine()
        stream = try Stream(engine: engine)
    }

    @Test func piecesCoverEverySliceOnce() {
        let pieces = ConvSlices.pieces(batch: 2, pooledExtent: 7, slicesPerPiece: 3)
        #expect(pieces.map(\.count) == [3, 3, 1, 3, 3, 1])
        #expect(pieces.filter { $0.sample == 1 }.map(\.start) == [0, 3, 6])
        #expect(ConvSlices.slicesPerPiece(convolvedSliceBytes: 126 * 62 * 64 * 4, pooledExtent: 63) == 2)
        #expect(ConvSlices.slicesPerPiece(convolvedSliceBytes: 1 << 30, pooledExtent: 63) == 1)
        #expect(ConvSlices.slicesPerPiece(convolvedSliceBytes: 10, pooledExtent: 4) == 4)
    }

    /// Sizes with odd convolution extents (the trailing slice pooling drops) along each axis; the
    /// pieces in the layout this tier's first block uses (oneDNN's 16-channel blocks on AVX-512,
    /// channels-last on AVX2), pooled by `BlockedMaxPool` into a tensor in the same layout, or by
    /// oneDNN into a plain one.
    @Test(arguments: [([11, 8, 9], 1, true), ([11, 8, 9], 3, true), ([11, 8, 9], 4, false), ([10, 9, 8], 2, true), ([10, 9, 8], 3, false)])
    func matchesTheNaiveBlock(size: [Int], slicesPerPiece: Int, blocked: Bool) throws {
        let tier = Precision.f32.convolutionLayout(ofBlock: 0, on: .effective)
        let pooled: MemoryDescriptor.Layout = tier == .channelsLast ? .channelsLast : .channelBlocked16
        try check(size: size, slicesPerPiece: slicesPerPiece, pieceLayout: tier, pooled: blocked ? pooled : .plain)
    }

    /// Every code of BlockedMaxPool (portable C, AVX2, AVX-512; the C side falls back where the CPU
    /// lacks one) on both layouts it takes: 16-channel blocks (where oneDNN makes them: AVX-512)
    /// and channels-last (the first block on AVX2).
    @Test(arguments: BlockedMaxPool.Code.allCases, [MemoryDescriptor.Layout.channelBlocked16, .channelsLast])
    func everyPoolingCodeGivesTheSameResults(code: BlockedMaxPool.Code, layout: MemoryDescriptor.Layout) throws {
        guard layout == .channelsLast || InstructionSet.effective.hasAVX512 else { return }
        let piece: MemoryDescriptor.Layout = layout == .channelsLast ? .channelsLast : .any
        try check(size: [11, 8, 9], slicesPerPiece: 3, pieceLayout: piece, pooled: layout, code: code)
        try check(size: [10, 9, 8], slicesPerPiece: 2, pieceLayout: piece, pooled: layout, code: code)
    }

    /// - Parameters:
    ///   - pieceLayout: each piece's convolution output (`.any`: oneDNN's choice); weights and their
    ///     gradient in the layouts oneDNN picks for it, as `ConvBlock` keeps them.
    ///   - pooled: the pooled tensor's layout; `.plain` makes oneDNN pool the pieces.
    func check(size: [Int], slicesPerPiece: Int, pieceLayout: MemoryDescriptor.Layout, pooled layout: MemoryDescriptor.Layout,
               code: BlockedMaxPool.Code = .fastest(on: .effective)) throws {
        let blocked = layout != .plain
        let conv = size.map { $0 - 2 }, pooledSize = conv.map { $0 / 2 }
        let input = values(batch * size.reduce(1, *), seed: 1)
        let weights = values(channels * 27, seed: 2).map { $0 * 0.8 }, bias = values(channels, seed: 3).map { $0 * 0.2 }
        let pooledDims = [batch, channels] + pooledSize
        let source = MemoryDescriptor(dims: [1, 1] + size, layout: pieceLayout == .channelsLast ? .channelsLast : .plain)
        let forward = try Primitive.convolutionForward(
            engine: engine, src: source, weights: MemoryDescriptor(dims: [channels, 1, 3, 3, 3], layout: .any),
            bias: MemoryDescriptor(dims: [channels]), dst: MemoryDescriptor(dims: [1, channels] + conv, layout: pieceLayout), mode: .training, relu: true)
        let weightsDescriptor = forward.memoryDescriptor(for: .weights)!
        let gradientDescriptor = try Primitive.convolutionBackwardWeights(
            engine: engine, src: source, diffWeights: MemoryDescriptor(dims: [channels, 1, 3, 3, 3], layout: .any), diffBias: MemoryDescriptor(dims: [channels]),
            diffDst: forward.memoryDescriptor(for: .dst)!, forward: forward).memoryDescriptor(for: .diffWeights)!
        let slices = try ConvSlices(engine: engine, batch: batch, input: MemoryDescriptor(dims: [batch, 1] + size), outChannels: channels,
                                    size: size, weights: weightsDescriptor, weightGradient: gradientDescriptor,
                                    pooled: MemoryDescriptor(dims: pooledDims, layout: layout), layout: pieceLayout,
                                    slicesPerPiece: slicesPerPiece, poolCode: code)
        #expect(slices.usesBlockedMaxPool == blocked)
        let references = engine.implementations.filter(\.isReference)
        #expect(references.isEmpty, "\(references)")
        let inputMemory = try memory([batch, 1] + size, input)
        let pooled = try Memory(MemoryDescriptor(dims: pooledDims, layout: layout), engine: engine)
        try slices.forward(inputMemory, weights: try reordered(try memory([channels, 1, 3, 3, 3], weights), to: weightsDescriptor), bias: try memory([channels], bias),
                           into: pooled, training: true, stream: stream, profiler: nil, label: "test")
        let (expected, argmax) = naiveForward(input, size: size, weights: weights, bias: bias)
        #expect(maxDifference(try plain(pooled).read(), expected) < 1e-5)

        // ReLU's gradient is applied to the pooled gradient before it comes here (as ConvBlock does).
        let pooledGradient = zip(values(expected.count, seed: 4), expected).map { $1 > 0 ? $0 : 0 }
        let weightGradient = try Memory(gradientDescriptor, engine: engine), biasGradient = try memory([channels])
        try slices.backward(try reordered(try memory(pooledDims, pooledGradient), to: pooled.descriptor), input: inputMemory, weightGradient: weightGradient,
                            biasGradient: biasGradient, stream: stream, profiler: nil, label: "test")
        var dWeights = [Float](repeating: 0, count: channels * 27), dBias = [Float](repeating: 0, count: channels)
        for (p, g) in pooledGradient.enumerated() where g != 0 {
            let (n, c, x, y, z) = argmax[p]
            dBias[c] += g
            for a in 0..<3 { for b in 0..<3 { for d in 0..<3 {
                dWeights[c * 27 + (a * 3 + b) * 3 + d] += g * input[inputIndex(n, x + a, y + b, z + d, size)]
            } } }
        }
        #expect(maxDifference(try plain(weightGradient).read(), dWeights) < 1e-4)
        #expect(maxDifference(biasGradient.read(), dBias) < 1e-4)
        #expect(dBias.contains { $0 != 0 }, "the test exercises some gradient")
    }

    /// Conv (valid, 3³) + bias + ReLU, then 2³ max pooling; with the position of each window's maximum.
    func naiveForward(_ input: [Float], size: [Int], weights: [Float], bias: [Float]) -> ([Float], [(Int, Int, Int, Int, Int)]) {
        let conv = size.map { $0 - 2 }, p = conv.map { $0 / 2 }
        func convolved(_ n: Int, _ c: Int, _ x: Int, _ y: Int, _ z: Int) -> Float {
            var sum = bias[c]
            for a in 0..<3 { for b in 0..<3 { for d in 0..<3 {
                sum += weights[c * 27 + (a * 3 + b) * 3 + d] * input[inputIndex(n, x + a, y + b, z + d, size)]
            } } }
            return max(sum, 0)
        }
        var out: [Float] = [], positions: [(Int, Int, Int, Int, Int)] = []
        for n in 0..<batch { for c in 0..<channels { for x in 0..<p[0] { for y in 0..<p[1] { for z in 0..<p[2] {
            var best = -Float.infinity, at = (n, c, 0, 0, 0)
            for dx in 0..<2 { for dy in 0..<2 { for dz in 0..<2 {
                let value = convolved(n, c, 2 * x + dx, 2 * y + dy, 2 * z + dz)
                if value > best { best = value; at = (n, c, 2 * x + dx, 2 * y + dy, 2 * z + dz) }
            } } }
            out.append(best)
            positions.append(at)
        } } } } }
        return (out, positions)
    }

    func inputIndex(_ n: Int, _ x: Int, _ y: Int, _ z: Int, _ size: [Int]) -> Int { ((n * size[0] + x) * size[1] + y) * size[2] + z }

    func reordered(_ memory: Memory, to target: MemoryDescriptor) throws -> Memory {
        let out = try Memory(target, engine: engine)
        try Primitive.reorder(engine: engine, from: memory.descriptor, to: target).execute(on: stream, [.src: memory, .dst: out])
        return out
    }

    func plain(_ memory: Memory) throws -> Memory { try reordered(memory, to: MemoryDescriptor(dims: memory.descriptor.dims)) }

    func memory(_ dims: [Int], _ contents: [Float]? = nil) throws -> Memory {
        let memory = try Memory(MemoryDescriptor(dims: dims), engine: engine)
        if let contents { memory.write(contents) }
        return memory
    }

    func values(_ count: Int, seed: UInt32) -> [Float] {
        var state = seed &* 747_796_405 &+ 2_891_336_453
        return (0..<count).map { _ in
            state = state &* 1_664_525 &+ 1_013_904_223
            return Float(state >> 8) / Float(1 << 24) * 2 - 1
        }
    }

    func maxDifference(_ a: [Float], _ b: [Float]) -> Float {
        precondition(a.count == b.count, "\(a.count) vs \(b.count) values")
        return zip(a, b).map { abs($0 - $1) }.max() ?? 0
    }
}
