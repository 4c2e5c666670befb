import Engine

/// The first block's convolution and pooling, one sample and a few x-slices at a time.
///
/// At 128×128×64 the first convolution's output is 504 MB for a batch of two; whole-tensor passes
/// over it (convolve, pool, pool backward, weight gradient) were memory traffic more than
/// arithmetic. Here each piece's convolution output (about 8 MB) is pooled while it is still in
/// cache — by `BlockedMaxPool` (oneDNN's pooling was 5× slower on it) or, for layouts that does
/// not take, by oneDNN — and only the pooled piece is kept; backward makes each piece's gradient
/// the same way and sums the pieces' weight gradients. The arithmetic is the same; the 504 MB
/// tensor never exists (training needs about 500 MB less).
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
        let convolution: Primitive
        let convolved: Memory
        /// oneDNN's pooling, for layouts `BlockedMaxPool` does not take.
        let pooling: Pooling?
        /// The weight gradient of one piece (training only).
        let weightsBackward: Primitive?
        let weightGradient: Memory?
        let biasGradient: Memory?

        struct Pooling {
            let window: MemoryDescriptor
            let pooled: Memory
            let inference: Primitive
            let store: Primitive
            let training: Primitive?
            let load: Primitive?
            let backward: Primitive?
        }

        init(count: Int, engine: Engine, inChannels: Int, outChannels: Int, size: [Int], weights: MemoryDescriptor,
             weightGradient: MemoryDescriptor?, pooledTensor: MemoryDescriptor, layout: MemoryDescriptor.Layout) throws(EngineError) {
            let convSize = size.map { $0 - 2 }
            let pooledDims = [1, outChannels, count, convSize[1] / 2, convSize[2] / 2]
            let vector = MemoryDescriptor(dims: [outChannels])
            // One channel: plain and channels-last are the same bytes (see ConvBlock).
            source = MemoryDescriptor(dims: [1, inChannels, 2 * count + 2, size[1], size[2]], layout: layout == .channelsLast ? .channelsLast : .plain)
            convolution = try .convolutionForward(engine: engine, src: source, weights: weights, bias: vector,
                                                  dst: MemoryDescriptor(dims: [1, outChannels, 2 * count, convSize[1], convSize[2]], layout: layout),
                                                  mode: weightGradient == nil ? .inference : .training, relu: true)
            let convolvedDescriptor = convolution.memoryDescriptor(for: .dst)!
            convolved = try Memory(convolvedDescriptor, engine: engine)
            if BlockedMaxPool.supports(piece: convolvedDescriptor, pooled: pooledTensor) {
                pooling = nil
            } else {
                let window = pooledTensor.window(dims: pooledDims, offsets: [0, 0, 0, 0, 0]).descriptor
                let inference = try Primitive.maxPoolForward(engine: engine, src: convolvedDescriptor, dst: MemoryDescriptor(dims: pooledDims, layout: .any),
                                                             mode: .inference)
                let piece = inference.memoryDescriptor(for: .dst)!
                let training = weightGradient == nil ? nil : try Primitive.maxPoolForward(engine: engine, src: convolvedDescriptor, dst: piece, mode: .training)
                pooling = Pooling(window: window, pooled: try Memory(piece, engine: engine), inference: inference,
                                  store: try .reorder(engine: engine, from: piece, to: window), training: training,
                                  load: training == nil ? nil : try .reorder(engine: engine, from: window, to: piece),
                                  backward: try training.map { (forward) throws(EngineError) in
                                      try .maxPoolBackward(engine: engine, diffSrc: convolvedDescriptor, diffDst: piece, forward: forward)
                                  })
            }
            guard let weightGradient else { weightsBackward = nil; self.weightGradient = nil; biasGradient = nil; return }
            weightsBackward = try .convolutionBackwardWeights(engine: engine, src: source, diffWeights: weightGradient, diffBias: vector,
                                                              diffDst: convolvedDescriptor, forward: convolution)
            self.weightGradient = try Memory(weightGradient, engine: engine)
            biasGradient = try Memory(vector, engine: engine)
        }
    }

    /// What the backward pass needs of a piece's pooling: which value was each window's maximum.
    private enum Record {
        case argmax(BlockedMaxPool.Argmax)
        case workspace(Memory)
    }

    let pieces: [Piece]
    private let kernels: [Int: Kernels]
    private let sourceOffsets: [Int]
    private let pooledOffsets: [Int]
    /// Per piece, what backward needs of its pooling (training only).
    private let records: [Record]
    /// For pooling without training: a scratch argmax per piece size.
    private let scratch: [Int: BlockedMaxPool.Argmax]
    private let engine: Engine
    /// The code `BlockedMaxPool` runs.
    private let poolCode: BlockedMaxPool.Code

    /// - Parameters:
    ///   - input: the block's input: plain float32 [batch, 1, x, y, z] (one channel, so a piece's
    ///     x-slices are contiguous).
    ///   - weights: the layout the forward convolution reads its weights in.
    ///   - weightGradient: the layout to produce the weight gradient in; nil for inference only.
    ///   - pooled: the layout of the whole pooled tensor the pieces are stored into.
    ///   - layout: the layout of each piece's convolution output: `.any` (oneDNN's choice) or
    ///     `.channelsLast` (see `Precision.convolutionLayout`).
    ///   - slicesPerPiece: pooled x-slices per piece; by default about 8 MB of convolution output.
    ///   - poolCode: the pooling kernel's code; by default the fastest oneDNN's own tier allows.
    init(engine: Engine, batch: Int, input: MemoryDescriptor, outChannels: Int, size: [Int], weights: MemoryDescriptor,
         weightGradient: MemoryDescriptor?, pooled: MemoryDescriptor, layout: MemoryDescriptor.Layout = .any, slicesPerPiece: Int? = nil,
         poolCode: BlockedMaxPool.Code = .fastest(on: .effective)) throws(EngineError) {
        precondition(input.isPlain && input.dims[1] == 1 && input.type == .f32, "slices need a plain one-channel float32 input")
        self.engine = engine
        self.poolCode = poolCode
        let convSize = size.map { $0 - 2 }
        let pooledExtent = convSize[0] / 2
        let perPiece = slicesPerPiece ?? Self.slicesPerPiece(convolvedSliceBytes: convSize[1] * convSize[2] * outChannels * 4, pooledExtent: pooledExtent)
        pieces = Self.pieces(batch: batch, pooledExtent: pooledExtent, slicesPerPiece: perPiece)
        var kernels: [Int: Kernels] = [:]
        for count in Set(pieces.map(\.count)) {
            kernels[count] = try Kernels(count: count, engine: engine, inChannels: 1, outChannels: outChannels, size: size,
                                         weights: weights, weightGradient: weightGradient, pooledTensor: pooled, layout: layout)
        }
        self.kernels = kernels
        sourceOffsets = pieces.map { input.window(dims: [1, 1, 2 * $0.count + 2, size[1], size[2]], offsets: [$0.sample, 0, 2 * $0.start, 0, 0]).byteOffset }
        pooledOffsets = pieces.map {
            pooled.window(dims: [1, outChannels, $0.count, convSize[1] / 2, convSize[2] / 2], offsets: [$0.sample, 0, $0.start, 0, 0]).byteOffset
        }
        var records: [Record] = []
        if weightGradient != nil {
            for piece in pieces {
                let k = kernels[piece.count]!
                if let training = k.pooling?.training {
                    records.append(.workspace(try Memory(training.memoryDescriptor(for: .workspace)!, engine: engine)))
                } else {
                    records.append(.argmax(BlockedMaxPool.Argmax(piece: k.convolved.descriptor)))
                }
            }
        }
        self.records = records
        scratch = kernels.compactMapValues { $0.pooling == nil ? BlockedMaxPool.Argmax(piece: $0.convolved.descriptor) : nil }
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
                let record = training ? records[index] : nil
                if let p = k.pooling {
                    if case .workspace(let workspace) = record, let pool = p.training {
                        try pool.execute(on: stream, [.src: k.convolved, .dst: p.pooled, .workspace: workspace])
                    } else {
                        try p.inference.execute(on: stream, [.src: k.convolved, .dst: p.pooled])
                    }
                    try p.store.execute(on: stream, [.src: p.pooled, .dst: try pooled.view(p.window, byteOffset: pooledOffsets[index], engine: engine)])
                } else {
                    let argmax = if case .argmax(let a) = record { a } else { scratch[piece.count]! }
                    BlockedMaxPool.forward(k.convolved, into: pooled, sample: piece.sample, xOffset: piece.start, argmax: argmax, code: poolCode)
                }
            }
        }
    }

    /// From the gradient of the pooled output (ReLU's mask already applied), the gradients of the
    /// weights and bias, summed over the pieces into `weightGradient` and `biasGradient`.
    func backward(_ pooledGradient: Memory, input: Memory, weightGradient: Memory, biasGradient: Memory,
                  stream: Stream, profiler: Profiler?, label: String) throws(EngineError) {
        for (index, piece) in pieces.enumerated() {
            let k = kernels[piece.count]!
            guard let weightsBackward = k.weightsBackward, let pieceWeights = k.weightGradient, let pieceBias = k.biasGradient else {
                preconditionFailure("backward on inference slices")
            }
            try profiler.measure("\(label) relu+pool backward") { () throws(EngineError) in
                // The piece's convolution output buffer receives its gradient.
                switch records[index] {
                case .argmax(let argmax):
                    BlockedMaxPool.backward(pooledGradient, sample: piece.sample, xOffset: piece.start, argmax: argmax, into: k.convolved, code: poolCode)
                case .workspace(let workspace):
                    guard let p = k.pooling, let load = p.load, let backward = p.backward else { preconditionFailure("no oneDNN pooling") }
                    let window = try pooledGradient.view(p.window, byteOffset: pooledOffsets[index], engine: engine)
                    try load.execute(on: stream, [.src: window, .dst: p.pooled])
                    try backward.execute(on: stream, [.diffDst: p.pooled, .diffSrc: k.convolved, .workspace: workspace])
                }
            }
            try profiler.measure("\(label) conv backward weights") { () throws(EngineError) in
                let source = try input.view(k.source, byteOffset: sourceOffsets[index], engine: engine)
                let first = index == 0
                try weightsBackward.execute(on: stream, [.src: source, .diffDst: k.convolved,
                                                         .diffWeights: first ? weightGradient : pieceWeights,
                                                         .diffBias: first ? biasGradient : pieceBias])
                if !first {
                    Self.add(pieceWeights, into: weightGradient)
                    Self.add(pieceBias, into: biasGradient)
                }
            }
        }
    }

    /// The implementations the largest pieces run, by operation.
    var implementations: [(operation: String, implementation: String)] {
        guard let k = kernels[kernels.keys.max() ?? 0] else { return [] }
        var list = [("conv+relu forward (in pieces)", k.convolution.implementation),
                    ("pool forward (in pieces)", k.pooling.map { ($0.training ?? $0.inference).implementation } ?? "ctd BlockedMaxPool \(poolCode)")]
        if let weightsBackward = k.weightsBackward {
            list.append(("pool backward (in pieces)", k.pooling?.backward?.implementation ?? "ctd BlockedMaxPool \(poolCode)"))
            list.append(("conv backward weights (in pieces)", weightsBackward.implementation))
        }
        return list
    }

    /// Whether the pieces are pooled by `BlockedMaxPool` (else by oneDNN's pooling).
    var usesBlockedMaxPool: Bool { kernels.values.allSatisfy { $0.pooling == nil } }

    private static func add(_ source: Memory, into target: Memory) {
        target.withFloats { t in
            source.withFloats { s in
                for i in 0..<min(t.count, s.count) { t[i] += s[i] }
            }
        }
    }
}
