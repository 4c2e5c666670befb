import Engine
import SeededRandom

/// The seed's 3-D CNN on oneDNN for a fixed input size and batch size: forward passes for
/// prediction and validation, and full training steps (forward, backward, Adam).
///
/// Inputs are float32 tensors [N, 1, X, Y, Z] in row-major order (Z fastest), values in [0, 1].
/// A network owns all its memory; nothing is allocated per step. Not thread-safe: one caller at a time.
public final class Network {
    public let architecture: Architecture
    public let batchSize: Int
    public let trainable: Bool
    public let precision: Precision

    let engine: Engine
    let stream: Stream
    private let input: Memory
    let blocks: [ConvBlock]
    /// links[i] converts what feeds block i (the scan, or block i−1's output) into the type and
    /// layout block i computes in, and its gradient back; nil where no conversion is needed.
    private let links: [Link?]
    let head: DenseHead
    private let toPlain: Primitive
    let lastPlain: Memory
    private let lastGradientPlain: Memory?
    private let fromPlain: Primitive?
    private let lastGradient: Memory?
    var dropoutGenerator: SeededGenerator
    private var optimizer: OptimizerState?
    /// The convolutions' data gradients `gradCAM` needs, by block, made on its first call.
    var dataGradients: [Int: ConvolutionDataGradient] = [:]

    /// Times every stage when set (benchmarks); nil costs nothing.
    /// The oneDNN implementations the convolution blocks run, in order (for the benchmark).
    public var implementations: [(operation: String, implementation: String)] { blocks.flatMap(\.implementations) }
    /// Every primitive made on this network's engine (reorders and links included).
    public var createdImplementations: [Engine.Implementation] { engine.implementations }

    public var profiler: Profiler? {
        didSet { for block in blocks { block.profiler = profiler } }
    }

    /// - Parameters:
    ///   - trainable: also build the backward pass and optimizer state (more memory).
    ///   - seed: seeds dropout; initial weights come from `load` (see `ParameterSet.initial`).
    public init(architecture: Architecture, batchSize: Int, trainable: Bool, precision: Precision = .f32, seed: UInt64 = 0,
                engine sharedEngine: Engine? = nil) throws(EngineError) {
        precondition(batchSize >= 1, "batch size must be at least 1")
        self.architecture = architecture
        self.batchSize = batchSize
        self.trainable = trainable
        self.precision = precision
        let engine: Engine
        if let sharedEngine { engine = sharedEngine } else { engine = try Engine() }
        self.engine = engine
        stream = try Stream(engine: engine)
        let inputDescriptor = MemoryDescriptor(dims: [batchSize, 1, architecture.width, architecture.height, architecture.depth])
        input = try Memory(inputDescriptor, engine: engine)
        var previous = inputDescriptor
        var blocks: [ConvBlock] = []
        var links: [Link?] = []
        var size = [architecture.width, architecture.height, architecture.depth]
        for (index, filters) in Architecture.filters.enumerated() {
            let blockPrecision = precision.forBlock(index)
            var link: Link?
            if previous.type != blockPrecision.activationType {
                link = try Link(from: previous, to: previous.with(type: blockPrecision.activationType, layout: blockPrecision.activationLayout),
                                engine: engine, withGradient: trainable && index > 0)
            } else if let layout = precision.inputLayout(ofBlock: index, on: .effective), previous != previous.with(type: previous.type, layout: layout) {
                link = try Link(from: previous, to: previous.with(type: previous.type, layout: layout), engine: engine, withGradient: trainable)
            }
            let block = try ConvBlock(index: index, engine: engine, batch: batchSize, input: link?.converted.descriptor ?? previous,
                                      inChannels: architecture.inputChannels(ofBlock: index), outChannels: filters,
                                      size: size, training: trainable, needsInputGradient: index > 0, precision: blockPrecision,
                                      layout: precision.convolutionLayout(ofBlock: index, on: .effective))
            blocks.append(block)
            links.append(link)
            previous = block.outputDescriptor
            size = size.map { ($0 - 2) / 2 }
        }
        self.blocks = blocks
        self.links = links
        let lastDims = previous.dims
        let plainLast = MemoryDescriptor(dims: lastDims)
        toPlain = try .reorder(engine: engine, from: previous, to: plainLast)
        lastPlain = try Memory(plainLast, engine: engine)
        head = try DenseHead(engine: engine, batch: batchSize, channels: Architecture.filters.last!, training: trainable)
        dropoutGenerator = SeededGenerator(seed: seed ^ 0xD50F_0D0F)
        if trainable {
            lastGradientPlain = try Memory(plainLast, engine: engine)
            fromPlain = try .reorder(engine: engine, from: plainLast, to: previous)
            lastGradient = try Memory(previous, engine: engine)
        } else {
            lastGradientPlain = nil; fromPlain = nil; lastGradient = nil
        }
        if trainable { optimizer = try OptimizerState(parameters: trainableParameters(), engine: engine) }
    }

    // MARK: Parameters

    /// Every named tensor, in the checkpoint's order, with its gradient when it is trained (running
    /// statistics and inference networks have none). The one table the optimizer, checkpoints and
    /// gradient reads all walk, so their orders cannot drift apart.
    private var tensors: [(name: String, value: Memory, gradient: Memory?)] {
        var list: [(String, Memory, Memory?)] = []
        for block in blocks {
            let n = block.index + 1, g = block.gradients
            list += [("conv\(n).weight", block.weights, g?.weights), ("conv\(n).bias", block.bias, g?.bias),
                     ("bn\(n).weight", block.gamma, g?.gamma), ("bn\(n).bias", block.beta, g?.beta),
                     ("bn\(n).running_mean", block.runningMean, nil), ("bn\(n).running_var", block.runningVariance, nil)]
        }
        let g = head.gradients
        list += [("fc1.weight", head.fc1Weight, g?.fc1Weight), ("fc1.bias", head.fc1Bias, g?.fc1Bias),
                 ("fc2.weight", head.fc2Weight, g?.fc2Weight), ("fc2.bias", head.fc2Bias, g?.fc2Bias)]
        return list
    }

    /// The tensors Adam updates, with their gradients, in `tensors` order.
    private func trainableParameters() -> [(name: String, value: Memory, gradient: Memory)] {
        tensors.compactMap { entry in entry.gradient.map { (entry.name, entry.value, $0) } }
    }

    /// Sets every parameter. - Precondition: `parameters.mismatches(with: architecture)` is empty.
    public func load(_ parameters: ParameterSet) throws(EngineError) {
        precondition(parameters.mismatches(with: architecture).isEmpty, "parameters do not fit: \(parameters.mismatches(with: architecture))")
        for (name, memory, _) in tensors {
            try write(parameters[name]!, into: memory)
        }
        for block in blocks { try block.prepareWeights(stream: stream) }
    }

    /// Every parameter, in canonical layout.
    public func parameters() throws(EngineError) -> ParameterSet {
        var tensors: [String: [Float]] = [:]
        for (name, memory, _) in self.tensors { tensors[name] = try read(memory) }
        return ParameterSet(tensors: tensors)
    }

    /// Plain values into a memory of any layout.
    private func write(_ values: [Float], into memory: Memory) throws(EngineError) {
        if memory.descriptor.isPlain { memory.write(values); return }
        let plain = try Memory(MemoryDescriptor(dims: memory.descriptor.dims), engine: engine)
        plain.write(values)
        try Primitive.reorder(engine: engine, from: plain.descriptor, to: memory.descriptor).execute(on: stream, [.src: plain, .dst: memory])
    }

    private func read(_ memory: Memory) throws(EngineError) -> [Float] {
        if memory.descriptor.isPlain { return memory.read() }
        let plain = try Memory(MemoryDescriptor(dims: memory.descriptor.dims), engine: engine)
        try Primitive.reorder(engine: engine, from: memory.descriptor, to: plain.descriptor).execute(on: stream, [.src: memory, .dst: plain])
        return plain.read()
    }

    // MARK: Forward and training

    /// Elements of one input sample (X·Y·Z).
    public var sampleSize: Int { architecture.width * architecture.height * architecture.depth }

    /// Pre-sigmoid logits for up to `batchSize` samples (inference: running BatchNorm statistics,
    /// no dropout). `inputs` holds the samples back to back, each [1, X, Y, Z] row-major.
    public func logits(for inputs: [Float]) throws(EngineError) -> [Float] {
        let count = inputs.count / sampleSize
        precondition(inputs.count == count * sampleSize && (1...batchSize).contains(count), "inputs must be 1…\(batchSize) samples of \(sampleSize) values")
        try forward(inputs, training: false)
        var unused = dropoutGenerator
        return Array(head.forward(lastPlain, dropout: false, generator: &unused).prefix(count))
    }

    /// One training step on a full batch: forward with batch statistics and dropout, binary
    /// cross-entropy, backward, one Adam update. Returns the batch's mean loss and its logits.
    /// (`dropout: false` makes the step a deterministic function of weights and batch, to compare
    /// with another framework.)
    public func trainStep(inputs: [Float], labels: [Float], dropout: Bool = true) throws(EngineError) -> (loss: Double, logits: [Float]) {
        precondition(trainable, "trainStep needs a network made with trainable: true")
        precondition(inputs.count == batchSize * sampleSize && labels.count == batchSize, "a training step takes exactly one full batch")
        let (loss, logits) = try computeGradients(inputs: inputs, labels: labels, dropout: dropout)
        let parameters = trainableParameters()
        try profiler.measure("adam update") { () throws(EngineError) in
            optimizer!.step(parameters: parameters)
            for block in blocks { try block.prepareWeights(stream: stream) }
        }
        return (loss, logits)
    }

    /// Forward and backward without updating: fills every gradient (for tests and diagnostics).
    /// Dropout can be turned off to make the loss a deterministic function of the parameters.
    public func computeGradients(inputs: [Float], labels: [Float], dropout: Bool) throws(EngineError) -> (loss: Double, logits: [Float]) {
        try forward(inputs, training: true)
        let logits = profiler.measure("head forward") { head.forward(lastPlain, dropout: dropout, generator: &dropoutGenerator) }
        let (loss, logitGradient) = BinaryCrossEntropy.lossAndGradient(logits: logits, labels: labels)
        profiler.measure("head backward") { head.backward(logitGradient: logitGradient, into: lastGradientPlain!) }
        try fromPlain!.execute(on: stream, [.src: lastGradientPlain!, .dst: lastGradient!])
        var outputGradient = lastGradient!
        for block in blocks.reversed() {
            let link = links[block.index]
            let blockInput = link?.converted ?? (block.index == 0 ? input : blocks[block.index - 1].output)
            try block.backward(outputGradient, input: blockInput, stream: stream)
            guard var next = block.gradients?.input else { continue }
            if let link, let (reorder, gradient) = link.backward {
                try reorder.execute(on: stream, [.src: next, .dst: gradient])
                next = gradient
            }
            outputGradient = next
        }
        try stream.wait()
        return (loss, logits)
    }

    /// The gradients of the last `computeGradients`/`trainStep`, by parameter name, in canonical layout.
    public func gradients() throws(EngineError) -> ParameterSet {
        precondition(trainable)
        var values: [String: [Float]] = [:]
        for (name, _, gradient) in trainableParameters() { values[name] = try read(gradient) }
        return ParameterSet(tensors: values)
    }

    func forward(_ inputs: [Float], training: Bool) throws(EngineError) {
        var padded = inputs
        if padded.count < batchSize * sampleSize { padded += [Float](repeating: 0, count: batchSize * sampleSize - padded.count) }
        input.write(padded)
        var current = input
        for block in blocks {
            if let link = links[block.index] {
                try link.forward.execute(on: stream, [.src: current, .dst: link.converted])
                current = link.converted
            }
            try block.forward(current, training: training, stream: stream)
            current = block.output
        }
        try toPlain.execute(on: stream, [.src: current, .dst: lastPlain])
        try stream.wait()
    }

    // MARK: Optimizer

    /// Makes the next training step's batch statistics the BatchNorm running statistics, instead of
    /// blending them into Keras's placeholders (mean 0, variance 1). Activation variances here are
    /// ~1e-3, so at momentum 0.99 the placeholder variance of 1 dominates for over a thousand steps:
    /// inference is then normalised by the wrong scale, and validation accuracy sits at one class
    /// for the first 10–15 epochs (as in the seed's own run). Call once when training starts from
    /// fresh weights; the moving averages then only ever average real batches.
    public func startRunningStatistics() {
        for block in blocks { block.replaceRunningStatistics = true }
    }

    /// Re-estimates every BatchNorm's running statistics from scratch over `inputs` (whole batches
    /// of samples, each [1, X, Y, Z]), with training-mode forward passes and no weight update
    /// (in the spirit of "precise BatchNorm"). With batches of 2 the moving averages are noisy, and
    /// validation loss jumps from epoch to epoch; averages over a few dozen scans are stable. Each
    /// block's statistics are computed on inputs normalised by the blocks before it in
    /// training mode, as during training.
    public func recalibrateStatistics(_ inputs: [Float]) throws(EngineError) {
        let batches = inputs.count / (batchSize * sampleSize)
        precondition(batches >= 1 && inputs.count == batches * batchSize * sampleSize, "recalibration takes whole batches")
        beginRecalibration()
        for batch in 0..<batches {
            let start = batch * batchSize * sampleSize
            try accumulateStatistics(Array(inputs[start..<(start + batchSize * sampleSize)]))
        }
        finishRecalibration()
    }

    /// `recalibrateStatistics` a batch at a time, so the scans need not all be in memory at once:
    /// begin, accumulate whole batches, finish (which replaces the running statistics).
    public func beginRecalibration() {
        precondition(trainable, "recalibration needs a training network")
        for block in blocks {
            let channels = block.runningMean.descriptor.elementCount
            block.accumulation = (0, [Double](repeating: 0, count: channels), [Double](repeating: 0, count: channels))
        }
    }

    public func accumulateStatistics(_ batch: [Float]) throws(EngineError) {
        precondition(batch.count == batchSize * sampleSize, "recalibration takes whole batches")
        try forward(batch, training: true)
    }

    public func finishRecalibration() {
        for block in blocks { block.finishAccumulation() }
    }

    /// Restarts dropout's random sequence (e.g. per epoch, so a resumed epoch repeats exactly).
    public func reseedDropout(_ seed: UInt64) {
        dropoutGenerator = SeededGenerator(seed: seed ^ 0xD50F_0D0F)
    }

    /// The optimizer's settings; change before training starts.
    public var adamSettings: AdamSettings {
        get { optimizer?.settings ?? AdamSettings() }
        set { optimizer?.settings = newValue }
    }

    /// Optimizer steps taken (the learning-rate schedule's position).
    public var optimizerStep: Int { optimizer?.step ?? 0 }

    /// Adam's state in canonical layout, for checkpoints (training networks only).
    public func optimizerSnapshot() throws(EngineError) -> OptimizerSnapshot {
        precondition(trainable, "only training networks have an optimizer")
        var m: [String: [Float]] = [:], v: [String: [Float]] = [:]
        for ((name, _, _), moments) in zip(trainableParameters(), optimizer!.moments) {
            m[name] = try read(moments.m)
            v[name] = try read(moments.v)
        }
        return OptimizerSnapshot(step: optimizer!.step, m: ParameterSet(tensors: m), v: ParameterSet(tensors: v))
    }

    /// Restores Adam's state saved by `optimizerSnapshot`.
    public func restoreOptimizer(_ snapshot: OptimizerSnapshot) throws(EngineError) {
        precondition(trainable, "only training networks have an optimizer")
        for ((name, _, _), moments) in zip(trainableParameters(), optimizer!.moments) {
            try write(snapshot.m[name]!, into: moments.m)
            try write(snapshot.v[name]!, into: moments.v)
        }
        optimizer!.step = snapshot.step
    }
}

/// A type/layout conversion between two blocks (or the scan and the first block), with the
/// reverse conversion for the gradient.
struct Link {
    let forward: Primitive
    let converted: Memory
    let backward: (reorder: Primitive, gradient: Memory)?

    init(from source: MemoryDescriptor, to target: MemoryDescriptor, engine: Engine, withGradient: Bool) throws(EngineError) {
        forward = try .reorder(engine: engine, from: source, to: target)
        converted = try Memory(target, engine: engine)
        backward = withGradient ? (try .reorder(engine: engine, from: target, to: source), try Memory(source, engine: engine)) : nil
    }
}

/// Adam's moments for every trainable tensor, in the tensors' own layouts, and the step count.
struct OptimizerState {
    var settings = AdamSettings()
    var step = 0
    let moments: [(m: Memory, v: Memory)]

    init(parameters: [(name: String, value: Memory, gradient: Memory)], engine: Engine) throws(EngineError) {
        moments = try parameters.map { pair throws(EngineError) in
            (try Memory(pair.value.descriptor, engine: engine), try Memory(pair.value.descriptor, engine: engine))
        }
    }

    mutating func step(parameters: [(name: String, value: Memory, gradient: Memory)]) {
        let alpha = settings.stepSize(atStep: step)
        for ((_, value, gradient), (m, v)) in zip(parameters, moments) {
            value.withFloats { w in gradient.withFloats { g in m.withFloats { mb in v.withFloats { vb in
                adamUpdate(value: w, gradient: g, m: mb, v: vb, settings: settings, stepSize: alpha)
            } } } }
        }
        step += 1
    }
}
