/// Adam with Keras's defaults (β1 0.9, β2 0.999, ε 1e-7) and the seed's learning-rate schedule,
/// `ExponentialDecay(1e-4, decay_steps=100000, decay_rate=0.96, staircase=True)`.
///
/// The step counter is part of the optimizer state: a resumed run continues the schedule instead
/// of resetting it.
public struct AdamSettings: Sendable, Equatable, Codable {
    public var learningRate: Double = 1e-4
    public var decaySteps: Double = 100_000
    public var decayRate: Double = 0.96
    public var staircase = true
    public var beta1: Double = 0.9
    public var beta2: Double = 0.999
    public var epsilon: Double = 1e-7

    public init() {}

    /// The learning rate at optimizer step `step` (0-based), as Keras's ExponentialDecay gives it.
    public func learningRate(atStep step: Int) -> Double {
        var exponent = Double(step) / decaySteps
        if staircase { exponent.round(.down) }
        return learningRate * pow(decayRate, exponent)
    }

    /// Keras's per-step factor: lr · √(1 − β2^t) / (1 − β1^t), with t = step + 1.
    public func stepSize(atStep step: Int) -> Double {
        let t = Double(step + 1)
        return learningRate(atStep: step) * (1 - pow(beta2, t)).squareRoot() / (1 - pow(beta1, t))
    }
}

/// One Adam update of a tensor in place, in Keras's form:
/// m += (g − m)(1 − β1); v += (g² − v)(1 − β2); w −= α·m / (√v + ε).
/// Works on any layout, as long as value, gradient and moments share it.
func adamUpdate(value: UnsafeMutableBufferPointer<Float>, gradient: UnsafeMutableBufferPointer<Float>,
                m: UnsafeMutableBufferPointer<Float>, v: UnsafeMutableBufferPointer<Float>,
                settings: AdamSettings, stepSize alpha: Double) {
    precondition(value.count == gradient.count && value.count == m.count && value.count == v.count)
    let b1 = Float(1 - settings.beta1), b2 = Float(1 - settings.beta2)
    let a = Float(alpha), eps = Float(settings.epsilon)
    for i in 0..<value.count {
        let g = gradient[i]
        m[i] += (g - m[i]) * b1
        v[i] += (g * g - v[i]) * b2
        value[i] -= a * m[i] / (v[i].squareRoot() + eps)
    }
}

#if canImport(Glibc)
import Glibc
#endif
