import Engine

/// The first block's convolution and pooling, one sample and a few x-slices at a time.
///
/// At 128×128×64 the first convolution's output is 504 MB for a batch of two, and whole-tensor
/// passes read or write it five times a step (convolve, pool, pool backward, weight gradient) —
/// memory traffic, not arithmetic, was most of the block's time. Here each piece's convolution
/// output (a few MB) is pooled while it is still in cache and only the pooled piece is stored;
/// backward makes each piece's gradient the same way and sums the pieces' weight gradients. The
/// arithmetic is the same; the 504 MB tensor never exists (training needs ~500 MB less).
final class ConvSlices {
    /// Pooled x-slices [start, start + count) of one sample.
    struct Piece: Equatable {
        let sample: Int
        let start: Int
        let count: Int
    }

    /// Cuts `batch` samples of `pooledExtent` pooled x-slices into pieces of `slicesPerPiece`
    /// (the last piece of a sample may be shorter).
    static func pieces(batch: Int, pooledExtent: Int, slicesPerPiece: Int) -> [Piece] {
        precondition(slicesPerPiece >= 1)
        return (0..<batch).flatMap { sample in
            stride(from: 0, to: pooledExtent, by: slicesPerPiece).map {
                Piece(sample: sample, start: $0, count: min(slicesPerPiece, pooledExtent - $0))
            }
        }
    }

    /// Pooled slices per piece: its convolution output (2 slices per pooled one) about 8 MB,
    /// small enough to stay in the caches between convolving and pooling.
    static func slicesPerPiece(convolvedSliceBytes: Int, pooledExtent: Int) -> Int {
        max(1, min(pooledExtent, (8 << 20) / max(1, 2 * convolvedSliceBytes)))
    }

    /// The primitives and buffers for pieces of one size.
    private final class Kernels {
        let source: MemoryDescriptor
        let window: MemoryDescriptor
        let convolution: Primitive
        let convolved: Memory
        let pooled: Memory
        let poolInference: Primitive
        let store: Primitive
        let training: Training?

        struct Training {
            let pool: Primitive
            let load: Primitive
            let poolBackward: Primitive
            let weightsBackward: Primitive
            let weightGradient: Memory
            let biasGradient: Memory
        }

        init(count: Int, engine: Engine, inChannels: Int, outChannels: Int, size: [Int], weights: MemoryDescriptor,
             weightGradient: MemoryDescriptor?, pooledTensor: MemoryDescriptor) throws(EngineError) {
            let convSize = size.map { $0 - 2 }
            let pooledDims = [1, outChannels, count, convSize[1] / 2, convSize[2] / 2]
            let vector = MemoryDescriptor(dims: [outChannels])
            source = MemoryDescriptor(dims: [1, inChannels, 2 * count + 2, size[1], size[2]])
            window = pooledTensor.window(dims: pooledDims, offsets: [0, 0, 0, 0, 0]).descriptor
            convolution = try .convolutionForward(engine: engine, src: source, weights: weights, bias: vector,
                                                  dst: MemoryDescriptor(dims: [1, outChannels, 2 * count, convSize[1], convSize[2]], layout: .any),
                                                  mode: weightGradient == nil ? .inference : .training, relu: true)
            let convolvedDescriptor = convolution.memoryDescriptor(for: .dst)!
            convolved = try Memory(convolvedDescriptor, engine: engine)
            poolInference = try .maxPoolForward(engine: engine, src: convolvedDescriptor, dst: MemoryDescriptor(dims: pooledDims, layout: .any), mode: .inference)
            let pieceDescriptor = poolInference.memoryDescriptor(for: .dst)!
            pooled = try Memory(pieceDescriptor, engine: engine)
            store = try .reorder(engine: engine, from: pieceDescriptor, to: window)
            guard let weightGradient else { training = nil; return }
            let pool = try Primitive.maxPoolForward(engine: engine, src: convolvedDescriptor, dst: pieceDescriptor, mode: .training)
            training = Training(
                pool: pool,
                load: try .reorder(engine: engine, from: window, to: pieceDescriptor),
                poolBackward: try .maxPoolBackward(engine: engine, diffSrc: convolvedDescriptor, diffDst: pieceDescriptor, forward: pool),
                weightsBackward: try .convolutionBackwardWeights(engine: engine, src: source, diffWeights: weightGradient, diffBias: vector,
                                                                 diffDst: convolvedDescriptor, forward: convolution),
                weightGradient: try Memory(weightGradient, engine: engine),
                biasGradient: try Memory(vector, engine: engine))
        }
    }

    let pieces: [Piece]
    private let kernels: [Int: Kernels]
    private let sourceOffsets: [Int]
    private let pooledOffsets: [Int]
    /// Pooling's record of each window's maximum, per piece (training only).
    private let workspaces: [Memory]
    private let engine: Engine

    /// - Parameters:
    ///   - input: the block's input: plain float32 [batch, 1, x, y, z] (one channel, so a piece's
    ///     x-slices are contiguous).
    ///   - weights: the layout the forward convolution reads its weights in.
    ///   - weightGradient: the layout to produce the weight gradient in; nil for inference only.
    ///   - pooled: the layout of the whole pooled tensor the pieces are stored into.
    ///   - slicesPerPiece: pooled x-slices per piece; by default about 8 MB of convolution output.
    init(engine: Engine, batch: Int, input: MemoryDescriptor, outChannels: Int, size: [Int], weights: MemoryDescriptor,
         weightGradient: MemoryDescriptor?, pooled: MemoryDescriptor, slicesPerPiece: Int? = nil) throws(EngineError) {
        precondition(input.isPlain && input.dims[1] == 1 && input.type == .f32, "slices need a plain one-channel float32 input")
        self.engine = engine
        let convSize = size.map { $0 - 2 }
        let pooledExtent = convSize[0] / 2
        let perPiece = slicesPerPiece ?? Self.slicesPerPiece(convolvedSliceBytes: convSize[1] * convSize[2] * outChannels * 4, pooledExtent: pooledExtent)
        pieces = Self.pieces(batch: batch, pooledExtent: pooledExtent, slicesPerPiece: perPiece)
        var kernels: [Int: Kernels] = [:]
        for count in Set(pieces.map(\.count)) {
            kernels[count] = try Kernels(count: count, engine: engine, inChannels: 1, outChannels: outChannels, size: size,
                                         weights: weights, weightGradient: weightGradient, pooledTensor: pooled)
        }
        self.kernels = kernels
        sourceOffsets = pieces.map { input.window(dims: [1, 1, 2 * $0.count + 2, size[1], size[2]], offsets: [$0.sample, 0, 2 * $0.start, 0, 0]).byteOffset }
        pooledOffsets = pieces.map {
            pooled.window(dims: [1, outChannels, $0.count, convSize[1] / 2, convSize[2] / 2], offsets: [$0.sample, 0, $0.start, 0, 0]).byteOffset
        }
        var workspaces: [Memory] = []
        if weightGradient != nil {
            for piece in pieces {
                workspaces.append(try Memory(kernels[piece.count]!.training!.pool.memoryDescriptor(for: .workspace)!, engine: engine))
            }
        }
        self.workspaces = workspaces
    }

    /// Convolution + ReLU and pooling of `input` into `pooled`; `training` keeps what backward needs.
    func forward(_ input: Memory, weights: Memory, bias: Memory, into pooled: Memory, training: Bool,
                 stream: Stream, profiler: Profiler?, label: String) throws(EngineError) {
        for (index, piece) in pieces.enumerated() {
            let k = kernels[piece.count]!
            let source = try input.view(k.source, byteOffset: sourceOffsets[index], engine: engine)
            try profiler.measure("\(label) conv+relu forward") { () throws(EngineError) in
                try k.convolution.execute(on: stream, [.src: source, .weights: weights, .bias: bias, .dst: k.convolved])
            }
            try profiler.measure("\(label) pool forward") { () throws(EngineError) in
                if training, let t = k.training {
                    try t.pool.execute(on: stream, [.src: k.convolved, .dst: k.pooled, .workspace: workspaces[index]])
                } else {
                    try k.poolInference.execute(on: stream, [.src: k.convolved, .dst: k.pooled])
                }
                try k.store.execute(on: stream, [.src: k.pooled, .dst: try pooled.view(k.window, byteOffset: pooledOffsets[index], engine: engine)])
            }
        }
    }

    /// From the gradient of the pooled output (ReLU's mask already applied), the gradients of the
    /// weights and bias, summed over the pieces into `weightGradient` and `biasGradient`.
    func backward(_ pooledGradient: Memory, input: Memory, weightGradient: Memory, biasGradient: Memory,
                  stream: Stream, profiler: Profiler?, label: String) throws(EngineError) {
        for (index, piece) in pieces.enumerated() {
            let k = kernels[piece.count]!
            guard let t = k.training else { preconditionFailure("backward on inference slices") }
            try profiler.measure("\(label) relu+pool backward") { () throws(EngineError) in
                let window = try pooledGradient.view(k.window, byteOffset: pooledOffsets[index], engine: engine)
                try t.load.execute(on: stream, [.src: window, .dst: k.pooled])
                // The piece's convolution output buffer receives its gradient.
                try t.poolBackward.execute(on: stream, [.diffDst: k.pooled, .diffSrc: k.convolved, .workspace: workspaces[index]])
            }
            try profiler.measure("\(label) conv backward weights") { () throws(EngineError) in
                let source = try input.view(k.source, byteOffset: sourceOffsets[index], engine: engine)
                let first = index == 0
                try t.weightsBackward.execute(on: stream, [.src: source, .diffDst: k.convolved,
                                                           .diffWeights: first ? weightGradient : t.weightGradient,
                                                           .diffBias: first ? biasGradient : t.biasGradient])
                if !first {
                    Self.add(t.weightGradient, into: weightGradient)
                    Self.add(t.biasGradient, into: biasGradient)
                }
            }
        }
    }

    private static func add(_ source: Memory, into target: Memory) {
        target.withFloats { t in
            source.withFloats { s in
                for i in 0..<min(t.count, s.count) { t[i] += s[i] }
            }
        }
    }
}
