import Engine
import SeededRandom

/// The network's head, in plain Swift (it is tiny next to the convolutions):
/// GlobalAveragePooling3D → Dense(512) + ReLU → Dropout(0.3) → Dense(1), giving one logit per scan.
final class DenseHead {
    let batch: Int
    let channels: Int
    let hidden = Architecture.hiddenUnits

    // Parameters. fc1Weight: [512, channels]; fc1Bias: [512]; fc2Weight: [1, 512]; fc2Bias: [1].
    let fc1Weight: Memory, fc1Bias: Memory, fc2Weight: Memory, fc2Bias: Memory
    // Their gradients (training only), same shapes.
    let gradients: (fc1Weight: Memory, fc1Bias: Memory, fc2Weight: Memory, fc2Bias: Memory)?

    // Saved by forward for backward.
    private var features: [Float] = []   // [N, channels], the pooled block output
    private var activations: [Float] = [] // [N, 512], after ReLU and dropout
    private var keepScale: [Float] = []   // [N, 512], 0 where ReLU or dropout zeroed, else the dropout scale

    init(engine: Engine, batch: Int, channels: Int, training: Bool) throws(EngineError) {
        self.batch = batch
        self.channels = channels
        let shapes = [[hidden, channels], [hidden], [1, hidden], [1]]
        let memories = try shapes.map { dims throws(EngineError) in try Memory(MemoryDescriptor(dims: dims), engine: engine) }
        (fc1Weight, fc1Bias, fc2Weight, fc2Bias) = (memories[0], memories[1], memories[2], memories[3])
        if training {
            let grads = try shapes.map { dims throws(EngineError) in try Memory(MemoryDescriptor(dims: dims), engine: engine) }
            gradients = (grads[0], grads[1], grads[2], grads[3])
        } else {
            gradients = nil
        }
    }

    /// Logits for the last block's output, given plain [N, channels, S] (S spatial voxels).
    /// With `dropout`, each hidden unit is kept with probability 0.7 and scaled by 1/0.7 (Keras).
    func forward(_ blockOutput: Memory, dropout: Bool, generator: inout SeededGenerator) -> [Float] {
        let values = blockOutput.read()
        let spatial = values.count / (batch * channels)
        features = [Float](repeating: 0, count: batch * channels)
        for i in 0..<(batch * channels) {
            var sum: Float = 0
            for s in 0..<spatial { sum += values[i * spatial + s] }
            features[i] = sum / Float(spatial)
        }
        let w1 = fc1Weight.read(), b1 = fc1Bias.read(), w2 = fc2Weight.read(), b2 = fc2Bias.read()[0]
        activations = [Float](repeating: 0, count: batch * hidden)
        keepScale = [Float](repeating: 0, count: batch * hidden)
        let keep = 1 - Architecture.dropoutRate
        var logits = [Float](repeating: 0, count: batch)
        for n in 0..<batch {
            for h in 0..<hidden {
                var sum = b1[h]
                for c in 0..<channels { sum += w1[h * channels + c] * features[n * channels + c] }
                var scale: Float = sum > 0 ? 1 : 0
                if dropout { scale *= Float(generator.nextUnit()) < keep ? 1 / keep : 0 }
                keepScale[n * hidden + h] = scale
                activations[n * hidden + h] = sum * scale
            }
            var logit = b2
            for h in 0..<hidden { logit += w2[h] * activations[n * hidden + h] }
            logits[n] = logit
        }
        return logits
    }

    /// ∂logit/∂(pooled feature c) for sample `n` of the last `forward` (dropout off in an inference
    /// pass, so it is the ReLU's mask alone): Σ_h fc2[h] · keep[n, h] · fc1[h, c].
    func featureGradient(sample n: Int) -> [Float] {
        let w1 = fc1Weight.read(), w2 = fc2Weight.read()
        var gradient = [Float](repeating: 0, count: channels)
        for h in 0..<hidden {
            let dPre = w2[h] * keepScale[n * hidden + h]
            guard dPre != 0 else { continue }
            for c in 0..<channels { gradient[c] += dPre * w1[h * channels + c] }
        }
        return gradient
    }

    /// Fills the head's parameter gradients from ∂loss/∂logit and writes ∂loss/∂(block output) into
    /// `blockOutputGradient` (plain [N, channels, S]). Call after `forward`.
    func backward(logitGradient: [Float], into blockOutputGradient: Memory) {
        guard let g = gradients else { preconditionFailure("backward on an inference head") }
        let w1 = fc1Weight.read(), w2 = fc2Weight.read()
        var dW1 = [Float](repeating: 0, count: hidden * channels), dB1 = [Float](repeating: 0, count: hidden)
        var dW2 = [Float](repeating: 0, count: hidden), dB2: Float = 0
        var dFeatures = [Float](repeating: 0, count: batch * channels)
        for n in 0..<batch {
            let dz = logitGradient[n]
            dB2 += dz
            for h in 0..<hidden {
                dW2[h] += dz * activations[n * hidden + h]
                let dPre = dz * w2[h] * keepScale[n * hidden + h]
                guard dPre != 0 else { continue }
                dB1[h] += dPre
                for c in 0..<channels {
                    dW1[h * channels + c] += dPre * features[n * channels + c]
                    dFeatures[n * channels + c] += dPre * w1[h * channels + c]
                }
            }
        }
        g.fc1Weight.write(dW1); g.fc1Bias.write(dB1); g.fc2Weight.write(dW2); g.fc2Bias.write([dB2])
        let spatial = blockOutputGradient.descriptor.elementCount / (batch * channels)
        var spread = [Float](repeating: 0, count: batch * channels * spatial)
        for i in 0..<(batch * channels) {
            let share = dFeatures[i] / Float(spatial)
            for s in 0..<spatial { spread[i * spatial + s] = share }
        }
        blockOutputGradient.write(spread)
    }
}
