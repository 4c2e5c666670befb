/// Binary cross-entropy on logits, computed stably: for logit z and label y ∈ {0, 1},
/// loss = max(z, 0) − z·y + log(1 + e^(−|z|)), which never overflows, and its gradient
/// ∂loss/∂z = sigmoid(z) − y. The batch loss is the mean, as Keras reports it.
public enum BinaryCrossEntropy {
    /// Mean loss over the batch and the gradient of that mean with respect to each logit.
    public static func lossAndGradient(logits: [Float], labels: [Float]) -> (loss: Double, gradient: [Float]) {
        precondition(logits.count == labels.count && !logits.isEmpty, "one label per logit")
        var total = 0.0
        var gradient = [Float](repeating: 0, count: logits.count)
        let scale = 1 / Double(logits.count)
        for (index, (logit, label)) in zip(logits, labels).enumerated() {
            let z = Double(logit), y = Double(label)
            total += max(z, 0) - z * y + log1p(exp(-abs(z)))
            gradient[index] = Float((sigmoid(z) - y) * scale)
        }
        return (total * scale, gradient)
    }

    /// The probability of label 1, without overflow for large |z|.
    public static func sigmoid(_ z: Double) -> Double {
        z >= 0 ? 1 / (1 + exp(-z)) : exp(z) / (1 + exp(z))
    }
}

#if canImport(Glibc)
import Glibc
#endif
