import Engine

/// Grad-CAM (Selvaraju et al.) on one block's convolution: ReLU(Σ_c w_c · A_c) per voxel of its
/// output grid, where A is the convolution's output (after its ReLU, before pooling) and w_c the
/// mean of ∂logit/∂A_c over the grid: where the features push the scan towards "abnormal".
public struct GradCAMMap: Sendable {
    public let logit: Float
    /// The block (0-based) whose convolution the map is on.
    public let block: Int
    /// One value ≥ 0 per voxel of the grid, in the tensor's order (z fastest).
    public let values: [Float]
    /// The grid (x, y, z).
    public let size: [Int]
    /// Grid voxel j looks at input voxel `origin + step · j` on every axis (the valid convolutions
    /// leave a margin, so the grid covers the input's middle, not its edges).
    public let origin: Double
    public let step: Double

    public init(logit: Float, block: Int, values: [Float], size: [Int], origin: Double, step: Double) {
        precondition(size.count == 3 && values.count == size.reduce(1, *), "one value per voxel of a 3-D grid")
        (self.logit, self.block, self.values, self.size, self.origin, self.step) = (logit, block, values, size, origin, step)
    }
}

extension Network {
    /// The block `gradCAM` explains by default: the one before the last. The last block's grid is
    /// 12×12×4 at 128×128×64 (one voxel per 8 input voxels, four across the whole depth), too
    /// coarse to tell a lesion from the lung around it; the block before has 28×28×12. Measured
    /// (`ctd bench saliency`, a trained 128×128×64 model, 12 CT-2/CT-3 scans, maps not yet kept to
    /// the body): within the lesions grown by 5 voxels the last block's map put a median 0.30, this
    /// block's 0.45; block 2's was erratic (empty on 4 of the 12 scans).
    public var explainedBlock: Int { blocks.count - 2 }

    /// Grad-CAM for one sample (inference: running statistics, no dropout) on `block`'s
    /// convolution (default `explainedBlock`; block 0 convolves in slices and keeps no output).
    ///
    /// The gradient is taken back from the logit exactly: the head's ∂logit/∂(pooled features)
    /// (it pools globally, so every voxel of the last output gets 1/|grid| of it); each block's
    /// BatchNorm scales channel c by γ_c / √(σ²_c + ε); its max pooling hands a window's gradient to
    /// the window's maximum where that is above 0 (the ReLU before); and each convolution passes it
    /// to its input (oneDNN's backward data, float32).
    public func gradCAM(for sample: [Float], block target: Int? = nil) throws(EngineError) -> GradCAMMap {
        precondition(sample.count == sampleSize, "one sample of \(sampleSize) values")
        let target = target ?? explainedBlock
        precondition((1..<blocks.count).contains(target), "block must be 1…\(blocks.count - 1)")
        try forward(sample, training: false)
        var unused = dropoutGenerator
        let logit = head.forward(lastPlain, dropout: false, generator: &unused)[0]
        let alpha = head.featureGradient(sample: 0)
        let lastGrid = blocks.last!.outputDescriptor.dims[2...].reduce(1, *)
        // ∂logit/∂(block output), plain [C, X, Y, Z] of sample 0.
        var gradient = alpha.flatMap { [Float](repeating: $0 / Float(lastGrid), count: lastGrid) }
        var index = blocks.count - 1
        while true {
            let block = blocks[index]
            guard let (convolved, convolvedDims) = try block.convolutionOutput(engine: engine, stream: stream) else {
                preconditionFailure("block \(index) keeps no convolution output")
            }
            let gamma = block.gamma.read(), variance = block.runningVariance.read()
            let pooledDims = block.outputDescriptor.dims
            let channels = pooledDims[1], pooledGrid = pooledDims[2...].reduce(1, *)
            for c in 0..<channels {
                let scale = gamma[c] / (variance[c] + Architecture.batchNormEpsilon).squareRoot()
                for s in 0..<pooledGrid { gradient[c * pooledGrid + s] *= scale }
            }
            let convolvedGradient = MaxPoolGradient.route(gradient, pooledSize: Array(pooledDims[2...]), input: convolved,
                                                          inputSize: Array(convolvedDims[2...]), channels: channels)
            if index == target {
                let grid = convolvedDims[2...].reduce(1, *)
                var map = [Float](repeating: 0, count: grid)
                for c in 0..<channels {
                    let channel = (c * grid)..<((c + 1) * grid)
                    let weight = convolvedGradient[channel].reduce(0, +) / Float(grid)
                    guard weight != 0 else { continue }
                    for s in 0..<grid { map[s] += weight * convolved[c * grid + s] }
                }
                let (origin, step) = Architecture.convolutionGrid(block: index)
                return GradCAMMap(logit: logit, block: index, values: map.map { max(0, $0) }, size: Array(convolvedDims[2...]),
                                  origin: origin, step: step)
            }
            if dataGradients[index] == nil { dataGradients[index] = try ConvolutionDataGradient(engine: engine, block: block) }
            gradient = try dataGradients[index]!.run(convolvedGradient, stream: stream)
            index -= 1
        }
    }
}

/// The gradient through a 2³ max pooling (stride 2, trailing odd voxels dropped) that follows a ReLU.
enum MaxPoolGradient {
    /// ∂/∂(pool input) from ∂/∂(pool output), both plain [C, X, Y, Z]: each window's gradient goes
    /// to its first maximum (in x, y, z order, as oneDNN picks it), and nowhere when that maximum
    /// is 0 (the ReLU's gradient there).
    static func route(_ gradient: [Float], pooledSize: [Int], input: [Float], inputSize: [Int], channels: Int) -> [Float] {
        let (px, py, pz) = (pooledSize[0], pooledSize[1], pooledSize[2])
        let (ix, iy, iz) = (inputSize[0], inputSize[1], inputSize[2])
        precondition(gradient.count == channels * px * py * pz && input.count == channels * ix * iy * iz, "sizes do not match")
        precondition(px == ix / 2 && py == iy / 2 && pz == iz / 2, "a 2³ pooling of the input")
        var routed = [Float](repeating: 0, count: input.count)
        for c in 0..<channels {
            let inputBase = c * ix * iy * iz, pooledBase = c * px * py * pz
            for x in 0..<px { for y in 0..<py { for z in 0..<pz {
                var best = -Float.infinity, at = -1
                for dx in 0..<2 { for dy in 0..<2 { for dz in 0..<2 {
                    let i = inputBase + ((2 * x + dx) * iy + 2 * y + dy) * iz + 2 * z + dz
                    if input[i] > best { (best, at) = (input[i], i) }
                } } }
                if best > 0 { routed[at] += gradient[pooledBase + (x * py + y) * pz + z] }
            } } }
        }
        return routed
    }
}

/// ∂/∂(input) of one block's convolution, for explanations: oneDNN's backward data in float32 on
/// the block's master weights, plain arrays in and out.
final class ConvolutionDataGradient {
    private let primitive: Primitive
    private let weights: Memory
    private let weightsReorder: (primitive: Primitive, source: Memory)?
    private let outputGradient: Memory
    private let outputReorder: (primitive: Primitive, plain: Memory)?
    private let inputGradient: Memory
    private let inputReorder: (primitive: Primitive, plain: Memory)?

    init(engine: Engine, block: ConvBlock) throws(EngineError) {
        let inputDims = block.inputDescriptor.dims
        let outChannels = block.outputDescriptor.dims[1]
        let outputDims = [inputDims[0], outChannels] + inputDims[2...].map { $0 - 2 }
        let weightsDims = [outChannels, inputDims[1], 3, 3, 3]
        // oneDNN describes backward data by a forward training pass of the same shapes.
        let hint = try Primitive.convolutionForward(
            engine: engine, src: MemoryDescriptor(dims: inputDims, layout: .any), weights: MemoryDescriptor(dims: weightsDims, layout: .any),
            bias: MemoryDescriptor(dims: [outChannels]), dst: MemoryDescriptor(dims: outputDims, layout: .any), mode: .training, relu: false)
        let primitive = try Primitive.convolutionBackwardData(engine: engine, diffSrc: MemoryDescriptor(dims: inputDims, layout: .any),
                                                 weights: MemoryDescriptor(dims: weightsDims, layout: .any),
                                                 diffDst: MemoryDescriptor(dims: outputDims, layout: .any), forward: hint)
        func memory(_ argument: Argument) throws(EngineError) -> Memory { try Memory(primitive.memoryDescriptor(for: argument)!, engine: engine) }
        self.primitive = primitive
        let weights = try memory(.weights)
        self.weights = weights
        weightsReorder = block.weights.descriptor == weights.descriptor ? nil
            : (try .reorder(engine: engine, from: block.weights.descriptor, to: weights.descriptor), block.weights)
        let outputGradient = try memory(.diffDst), inputGradient = try memory(.diffSrc)
        (self.outputGradient, self.inputGradient) = (outputGradient, inputGradient)
        let plainOutput = MemoryDescriptor(dims: outputDims)
        outputReorder = outputGradient.descriptor == plainOutput ? nil
            : (try .reorder(engine: engine, from: plainOutput, to: outputGradient.descriptor), try Memory(plainOutput, engine: engine))
        let plainInput = MemoryDescriptor(dims: inputDims)
        inputReorder = inputGradient.descriptor == plainInput ? nil
            : (try .reorder(engine: engine, from: inputGradient.descriptor, to: plainInput), try Memory(plainInput, engine: engine))
    }

    /// ∂/∂(input), plain [C, X, Y, Z], from ∂/∂(convolution output), plain; batch of one.
    func run(_ gradient: [Float], stream: Stream) throws(EngineError) -> [Float] {
        if let (reorder, source) = weightsReorder { try reorder.execute(on: stream, [.src: source, .dst: weights]) }
        if let (reorder, plain) = outputReorder {
            plain.write(gradient)
            try reorder.execute(on: stream, [.src: plain, .dst: outputGradient])
        } else {
            outputGradient.write(gradient)
        }
        try primitive.execute(on: stream, [.diffDst: outputGradient, .weights: weights, .diffSrc: inputGradient])
        if let (reorder, plain) = inputReorder {
            try reorder.execute(on: stream, [.src: inputGradient, .dst: plain])
            try stream.wait()
            return plain.read()
        }
        try stream.wait()
        return inputGradient.read()
    }
}
