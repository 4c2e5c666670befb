import Export
import Foundation
import Model

/// `ctd model logits` and `ctd model step`: the network's answer for given weights and inputs, in
/// float32, so another implementation of the model (trainer/'s PyTorch twin) can be checked
/// against it. Inputs are `.npy` float32 [n, 1, X, Y, Z] (an export shard's layout).
public enum ModelCheck {
    /// Inference logits (running BatchNorm statistics, no dropout).
    public static func logits(checkpoint path: String, inputs: String) throws -> [Float] {
        let checkpoint = try Checkpoint.read(from: path)
        let batch = try readInputs(inputs, architecture: checkpoint.architecture)
        let network = try Network(architecture: checkpoint.architecture, batchSize: batch.count, trainable: false, precision: .f32)
        try network.load(checkpoint.parameters)
        return try network.logits(for: batch.flatMap { $0 })
    }

    /// One training step on the whole batch, without dropout: batch statistics (the running ones
    /// move by Keras's momentum), binary cross-entropy, backward, one Adam step (continuing the
    /// checkpoint's optimizer state when it has one). Returns the loss, the logits and the
    /// checkpoint after the step, with the step's gradients as `gradient.<name>` tensors' values.
    public static func step(checkpoint path: String, inputs: String, labels: [Float], learningRate: Double? = nil)
        throws -> (loss: Double, logits: [Float], after: Checkpoint, gradients: ParameterSet) {
        let checkpoint = try Checkpoint.read(from: path)
        let batch = try readInputs(inputs, architecture: checkpoint.architecture)
        guard labels.count == batch.count, labels.allSatisfy({ $0 == 0 || $0 == 1 }) else {
            throw TrainingError(reason: "give one label (0 or 1) per input: \(batch.count) inputs, \(labels.count) labels")
        }
        let network = try Network(architecture: checkpoint.architecture, batchSize: batch.count, trainable: true, precision: .f32)
        try network.load(checkpoint.parameters)
        if let learningRate { network.adamSettings.learningRate = learningRate }
        if let optimizer = checkpoint.optimizer { try network.restoreOptimizer(optimizer) }
        let (loss, logits) = try network.trainStep(inputs: batch.flatMap { $0 }, labels: labels, dropout: false)
        let after = Checkpoint(architecture: checkpoint.architecture, parameters: try network.parameters(),
                               optimizer: try network.optimizerSnapshot(), metadata: ["loss": "\(loss)"])
        return (loss, logits, after, try network.gradients())
    }

    private static func readInputs(_ path: String, architecture: Architecture) throws -> [[Float]] {
        guard let data = FileManager.default.contents(atPath: path) else { throw ExportError(path, "cannot read") }
        let rows: [[Float]]
        do { rows = try ShardFile.decodeRows([UInt8](data), x: architecture.width, y: architecture.height, z: architecture.depth) } catch {
            throw ExportError(path, error.reason)
        }
        guard (1...64).contains(rows.count) else { throw ExportError(path, "holds \(rows.count) inputs; give 1 to 64") }
        return rows
    }
}
