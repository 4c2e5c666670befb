import Engine

/// One block of the seed's network — Conv3D(3³, valid) + ReLU → MaxPool3D(2) → BatchNorm — as
/// oneDNN primitives, with its parameters, gradients and activations.
///
/// Memory plan (what makes training fit in ~1 GB at 128×128×64): the convolution output is needed
/// only to pool it, so the same buffer later receives its gradient. ReLU's gradient is applied to the
/// *pooled* tensor (`pooled > 0` is exactly the ReLU mask at each window's maximum, since pooling
/// takes the max of non-negative values), 8× smaller than applying it before pooling.
final class ConvBlock {
    let index: Int
    let inputDescriptor: MemoryDescriptor
    let outputDescriptor: MemoryDescriptor
    let training: Bool

    // Parameters. weights: [out, in, 3, 3, 3] over (x, y, z), float32, in a oneDNN-chosen layout.
    let weights: Memory
    /// The weights as the forward convolution reads them, when that differs from `weights`
    /// (bf16, or another layout); refreshed by `prepareWeights()` after every change.
    private let computeWeights: (reorder: Primitive, memory: Memory)?
    let bias: Memory          // [out]
    let gamma: Memory         // [out], BatchNorm scale
    let beta: Memory          // [out], BatchNorm shift
    let runningMean: Memory   // [out]
    let runningVariance: Memory

    // Activations.
    /// conv + ReLU output, reused for its gradient in backward; nil when `slices` do the work.
    private let convolved: Memory?
    /// The first block convolves and pools a few slices at a time (see `ConvSlices`).
    private let slices: ConvSlices?
    let pooled: Memory
    let output: Memory
    private let workspace: Memory?
    private let batchMean: Memory
    private let batchVariance: Memory

    // Forward primitives.
    private let convolution: Primitive
    private let poolTraining: Primitive?
    private let poolInference: Primitive
    private let normTraining: Primitive?
    private let normInference: Primitive

    /// Gradients and backward primitives (training only).
    let gradients: Gradients?
    /// Times each primitive when set (benchmarks).
    var profiler: Profiler?
    private var label: String { "block\(index + 1)" }

    struct Gradients {
        let weights: Memory
        let bias: Memory
        let gamma: Memory
        let beta: Memory
        let pooled: Memory
        /// The gradient of the block's input, in `inputDescriptor`'s layout; nil for the first block.
        let input: Memory?
        let normBackward: Primitive
        let reluBackward: Primitive
        let poolBackward: Primitive
        let weightsBackward: Primitive
        /// Reorders the weights into the layout backward-data wants, when it differs.
        let weightsReorder: (primitive: Primitive, destination: Memory)?
        let dataBackward: Primitive?
        /// Reorders the weight gradient into the weights' layout, when oneDNN chose another.
        let gradientReorder: (primitive: Primitive, source: Memory)?
    }

    /// - Parameters:
    ///   - input: the layout of the block's input (the scan, or the previous block's output).
    ///   - size: the input's spatial size (x, y, z).
    ///   - precision: bf16 runs convolutions and keeps activations in bf16; weights stay float32
    ///     (`weights`) and are converted into `computeWeights` before use.
    ///   - layout: the convolution output's layout (`Precision.convolutionLayout`); pooling and
    ///     normalisation follow it.
    init(index: Int, engine: Engine, batch: Int, input: MemoryDescriptor, inChannels: Int, outChannels: Int,
         size: [Int], training: Bool, needsInputGradient: Bool, precision: Precision,
         layout: MemoryDescriptor.Layout) throws(EngineError) {
        self.index = index
        self.training = training
        inputDescriptor = input
        let convSize = size.map { $0 - 2 }
        let pooledSize = convSize.map { $0 / 2 }
        let weightsDims = [outChannels, inChannels, 3, 3, 3]
        let type = precision.activationType
        let vector = MemoryDescriptor(dims: [outChannels])

        // With one input channel the plain scan is channels-last byte for byte; channels-last
        // convolutions need it described so (else oneDNN offers only its reference kernel).
        let source = inChannels == 1 && input.isPlain && layout == .channelsLast ? input.with(type: input.type, layout: .channelsLast) : input
        convolution = try .convolutionForward(
            engine: engine, src: source, weights: MemoryDescriptor(dims: weightsDims, type: type, layout: .any),
            bias: vector, dst: MemoryDescriptor(dims: [batch, outChannels] + convSize, type: type, layout: layout),
            mode: training ? .training : .inference, relu: true)
        let convDescriptor = convolution.memoryDescriptor(for: .dst)!
        let computeDescriptor = convolution.memoryDescriptor(for: .weights)!
        // Pooling picks its output layout to match the convolution's (blocked) one; normalisation
        // and everything after use that, so there are no reorders inside the block.
        poolInference = try .maxPoolForward(engine: engine, src: convDescriptor,
                                            dst: MemoryDescriptor(dims: [batch, outChannels] + pooledSize, type: type, layout: .any), mode: .inference)
        let pooledDescriptor = poolInference.memoryDescriptor(for: .dst)!
        normInference = try .batchNormForward(engine: engine, data: pooledDescriptor, epsilon: Architecture.batchNormEpsilon, mode: .inference)
        outputDescriptor = pooledDescriptor

        // The float32 master weights: in the forward layout for f32; for bf16, in the layout the
        // weight gradient comes in (so Adam needs no reorder), or plain for inference.
        var weightsBackward: Primitive?
        if training {
            let wanted = precision == .f32 ? computeDescriptor : MemoryDescriptor(dims: weightsDims, layout: .any)
            // The forward's weight layout spares Adam a reorder, unless only a reference kernel
            // produces the gradient in it (AVX2, one input channel): then oneDNN's own choice.
            let inWanted = try? Primitive.convolutionBackwardWeights(engine: engine, src: source, diffWeights: wanted, diffBias: vector,
                                                                     diffDst: convDescriptor, forward: convolution)
            if let inWanted, !inWanted.isReference {
                weightsBackward = inWanted
            } else {
                weightsBackward = try .convolutionBackwardWeights(engine: engine, src: source, diffWeights: MemoryDescriptor(dims: weightsDims, layout: .any),
                                                                   diffBias: vector, diffDst: convDescriptor, forward: convolution)
            }
        }
        let gradientDescriptor = weightsBackward?.memoryDescriptor(for: .diffWeights)
        let masterDescriptor = precision == .f32 ? computeDescriptor : (gradientDescriptor ?? MemoryDescriptor(dims: weightsDims))
        weights = try Memory(masterDescriptor, engine: engine)
        if masterDescriptor != computeDescriptor {
            computeWeights = (try .reorder(engine: engine, from: masterDescriptor, to: computeDescriptor), try Memory(computeDescriptor, engine: engine))
        } else {
            computeWeights = nil
        }
        bias = try Memory(vector, engine: engine)
        gamma = try Memory(vector, engine: engine)
        beta = try Memory(vector, engine: engine)
        runningMean = try Memory(vector, engine: engine)
        runningVariance = try Memory(vector, engine: engine)
        batchMean = try Memory(vector, engine: engine)
        batchVariance = try Memory(vector, engine: engine)
        // One input channel in a plain layout (the scan): a piece's slices are contiguous.
        let sliced = inChannels == 1 && input.isPlain && input.type == .f32 && !needsInputGradient
        slices = sliced ? try ConvSlices(engine: engine, batch: batch, input: input, outChannels: outChannels, size: size,
                                         weights: computeDescriptor, weightGradient: training ? gradientDescriptor : nil,
                                         pooled: pooledDescriptor, layout: layout) : nil
        convolved = sliced ? nil : try Memory(convDescriptor, engine: engine)
        pooled = try Memory(pooledDescriptor, engine: engine)
        output = try Memory(pooledDescriptor, engine: engine)

        guard training, let weightsBackward, let gradientDescriptor else {
            poolTraining = nil; normTraining = nil; workspace = nil; gradients = nil
            return
        }
        let poolTraining = try Primitive.maxPoolForward(engine: engine, src: convDescriptor, dst: pooledDescriptor, mode: .training)
        let normTraining = try Primitive.batchNormForward(engine: engine, data: pooledDescriptor, epsilon: Architecture.batchNormEpsilon, mode: .training)
        self.poolTraining = poolTraining
        self.normTraining = normTraining
        workspace = sliced ? nil : try Memory(poolTraining.memoryDescriptor(for: .workspace)!, engine: engine)

        let normBackward = try Primitive.batchNormBackward(engine: engine, diffData: pooledDescriptor, data: pooledDescriptor,
                                                           epsilon: Architecture.batchNormEpsilon, forward: normTraining)
        let reluBackward = try Primitive.reluBackward(engine: engine, diffData: pooledDescriptor, data: pooledDescriptor)
        let poolBackward = try Primitive.maxPoolBackward(engine: engine, diffSrc: convDescriptor, diffDst: pooledDescriptor, forward: poolTraining)
        var gradientReorder: (primitive: Primitive, source: Memory)?
        if gradientDescriptor != masterDescriptor {
            gradientReorder = (try .reorder(engine: engine, from: gradientDescriptor, to: masterDescriptor), try Memory(gradientDescriptor, engine: engine))
        }
        var dataBackward: Primitive?
        var weightsReorder: (primitive: Primitive, destination: Memory)?
        var inputGradient: Memory?
        if needsInputGradient {
            let backward = try Primitive.convolutionBackwardData(engine: engine, diffSrc: input, weights: MemoryDescriptor(dims: weightsDims, type: type, layout: .any),
                                                                 diffDst: convDescriptor, forward: convolution)
            let wanted = backward.memoryDescriptor(for: .weights)!
            if wanted != masterDescriptor {
                weightsReorder = (try .reorder(engine: engine, from: masterDescriptor, to: wanted), try Memory(wanted, engine: engine))
            }
            dataBackward = backward
            inputGradient = try Memory(input, engine: engine)
        }
        gradients = Gradients(
            weights: try Memory(masterDescriptor, engine: engine), bias: try Memory(vector, engine: engine),
            gamma: try Memory(vector, engine: engine), beta: try Memory(vector, engine: engine),
            pooled: try Memory(pooledDescriptor, engine: engine), input: inputGradient,
            normBackward: normBackward, reluBackward: reluBackward, poolBackward: poolBackward,
            weightsBackward: weightsBackward, weightsReorder: weightsReorder, dataBackward: dataBackward,
            gradientReorder: gradientReorder)
    }

    /// Runs the block on `input` into `output`. Training mode normalises with the batch's statistics
    /// and moves the running ones towards them (Keras momentum 0.99); inference uses the running ones.
    func forward(_ input: Memory, training useBatchStatistics: Bool, stream: Stream) throws(EngineError) {
        let useBatchStatistics = useBatchStatistics && normTraining != nil
        if let slices {
            try slices.forward(input, weights: computeWeights?.memory ?? weights, bias: bias, into: pooled, training: useBatchStatistics,
                               stream: stream, profiler: profiler, label: label)
        } else if let convolved {
            try profiler.measure("\(label) conv+relu forward") { () throws(EngineError) in
                try convolution.execute(on: stream, [.src: input, .weights: computeWeights?.memory ?? weights, .bias: bias, .dst: convolved])
            }
            if useBatchStatistics, let poolTraining, let workspace {
                try profiler.measure("\(label) pool forward") { () throws(EngineError) in
                    try poolTraining.execute(on: stream, [.src: convolved, .dst: pooled, .workspace: workspace])
                }
            } else {
                try profiler.measure("\(label) pool forward") { () throws(EngineError) in
                    try poolInference.execute(on: stream, [.src: convolved, .dst: pooled])
                }
            }
        }
        if useBatchStatistics, let normTraining {
            try profiler.measure("\(label) batchnorm forward") { () throws(EngineError) in
                try normTraining.execute(on: stream, [.src: pooled, .dst: output, .scale: gamma, .shift: beta,
                                                      .mean: batchMean, .variance: batchVariance])
            }
            updateRunningStatistics()
        } else {
            try profiler.measure("\(label) batchnorm forward") { () throws(EngineError) in
                try normInference.execute(on: stream, [.src: pooled, .dst: output, .scale: gamma, .shift: beta,
                                                       .mean: runningMean, .variance: runningVariance])
            }
        }
    }

    /// Back-propagates `outputGradient` (same layout as `output`) after a training forward pass on
    /// `input`: fills the parameter gradients and, unless this is the first block, `gradients.input`.
    func backward(_ outputGradient: Memory, input: Memory, stream: Stream) throws(EngineError) {
        guard let g = gradients else { preconditionFailure("backward on an inference block") }
        try profiler.measure("\(label) batchnorm backward") { () throws(EngineError) in
            try g.normBackward.execute(on: stream, [.src: pooled, .mean: batchMean, .variance: batchVariance, .diffDst: outputGradient,
                                                   .scale: gamma, .shift: beta, .diffSrc: g.pooled, .diffScale: g.gamma, .diffShift: g.beta])
        }
        try profiler.measure("\(label) relu+pool backward") { () throws(EngineError) in
            try g.reluBackward.execute(on: stream, [.dst: pooled, .diffDst: g.pooled, .diffSrc: g.pooled])
        }
        if let slices {
            try slices.backward(g.pooled, input: input, weightGradient: g.gradientReorder?.source ?? g.weights, biasGradient: g.bias,
                                stream: stream, profiler: profiler, label: label)
            if let (reorder, source) = g.gradientReorder {
                try reorder.execute(on: stream, [.src: source, .dst: g.weights])
            }
            return
        }
        guard let convolved, let workspace else { preconditionFailure("an unsliced training block without its buffers") }
        try profiler.measure("\(label) relu+pool backward") { () throws(EngineError) in
            // `convolved` now receives the gradient of the convolution's output.
            try g.poolBackward.execute(on: stream, [.diffDst: g.pooled, .diffSrc: convolved, .workspace: workspace])
        }
        try profiler.measure("\(label) conv backward weights") { () throws(EngineError) in
            if let (reorder, source) = g.gradientReorder {
                try g.weightsBackward.execute(on: stream, [.src: input, .diffDst: convolved, .diffWeights: source, .diffBias: g.bias])
                try reorder.execute(on: stream, [.src: source, .dst: g.weights])
            } else {
                try g.weightsBackward.execute(on: stream, [.src: input, .diffDst: convolved, .diffWeights: g.weights, .diffBias: g.bias])
            }
        }
        if let dataBackward = g.dataBackward, let inputGradient = g.input {
            try profiler.measure("\(label) conv backward data") { () throws(EngineError) in
                var backwardWeights = weights
                if let (reorder, destination) = g.weightsReorder {
                    try reorder.execute(on: stream, [.src: weights, .dst: destination])
                    backwardWeights = destination
                }
                try dataBackward.execute(on: stream, [.diffDst: convolved, .weights: backwardWeights, .diffSrc: inputGradient])
            }
        }
    }

    /// The convolution's output (after its ReLU, before pooling) of the last forward pass, as plain
    /// float32 [N, C, X, Y, Z] values with its dims; nil for a block that convolves in slices.
    func convolutionOutput(engine: Engine, stream: Stream) throws(EngineError) -> (values: [Float], dims: [Int])? {
        guard let convolved else { return nil }
        let plain = MemoryDescriptor(dims: convolved.descriptor.dims)
        if convolved.descriptor == plain { return (convolved.read(), plain.dims) }
        let memory = try Memory(plain, engine: engine)
        try Primitive.reorder(engine: engine, from: convolved.descriptor, to: plain).execute(on: stream, [.src: convolved, .dst: memory])
        try stream.wait()
        return (memory.read(), plain.dims)
    }

    /// The oneDNN implementations this block runs, by operation (e.g. "jit:avx512_core").
    var implementations: [(operation: String, implementation: String)] {
        var list: [(String, String)] = []
        if let slices {
            list += slices.implementations.map { ("\(label) \($0.operation)", $0.implementation) }
        } else {
            list.append(("\(label) conv+relu forward", convolution.implementation))
            list.append(("\(label) pool forward", (poolTraining ?? poolInference).implementation))
        }
        list.append(("\(label) batchnorm forward", (normTraining ?? normInference).implementation))
        if let g = gradients {
            list.append(("\(label) batchnorm backward", g.normBackward.implementation))
            if slices == nil {
                list.append(("\(label) pool backward", g.poolBackward.implementation))
                list.append(("\(label) conv backward weights", g.weightsBackward.implementation))
            }
            if let data = g.dataBackward { list.append(("\(label) conv backward data", data.implementation)) }
        }
        return list
    }

    /// Converts the master weights for the forward convolution; call after they change.
    func prepareWeights(stream: Stream) throws(EngineError) {
        guard let (reorder, memory) = computeWeights else { return }
        try reorder.execute(on: stream, [.src: weights, .dst: memory])
    }

    /// When set, the next training batch's statistics replace the running ones outright (see
    /// `Network.startRunningStatistics()`); cleared by that update.
    var replaceRunningStatistics = false

    /// While set, training-mode passes add their batch statistics here instead of moving the running
    /// ones (see `Network.recalibrateStatistics`): per channel, the sums of batch means and batch
    /// variances, and the number of batches.
    var accumulation: (batches: Int, mean: [Double], variance: [Double])?

    /// Ends an accumulation: the running statistics become the plain average of the batch means and
    /// of the within-batch variances — what the moving averages estimate, without their noise. (Not
    /// the population variance: training normalises by within-batch variance, and inference should
    /// scale activations the same way.)
    func finishAccumulation() {
        guard let (batches, mean, variance) = accumulation, batches > 0 else { accumulation = nil; return }
        accumulation = nil
        runningMean.write(mean.map { Float($0 / Double(batches)) })
        runningVariance.write(variance.map { Float($0 / Double(batches)) })
    }

    /// Keras: moving = moving · momentum + batch · (1 − momentum), with the biased batch variance.
    private func updateRunningStatistics() {
        if var sums = accumulation {
            let mean = batchMean.read(), variance = batchVariance.read()
            for c in mean.indices {
                sums.mean[c] += Double(mean[c])
                sums.variance[c] += Double(variance[c])
            }
            sums.batches += 1
            accumulation = sums
            return
        }
        let momentum: Float = replaceRunningStatistics ? 0 : Architecture.batchNormMomentum
        replaceRunningStatistics = false
        for (running, batch) in [(runningMean, batchMean), (runningVariance, batchVariance)] {
            running.withFloats { r in batch.withFloats { b in
                for c in 0..<r.count { r[c] = r[c] * momentum + b[c] * (1 - momentum) }
            } }
        }
    }
}
