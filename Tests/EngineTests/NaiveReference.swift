/// Plain-Swift reference implementations of the layers, written from their definitions for
/// clarity, not speed: the spec the oneDNN primitives are checked against. Tensors are row-major
/// [N, C, X, Y, Z] (Z fastest).
enum Naive {
    struct Shape5 {
        let n, c, x, y, z: Int
        var count: Int { n * c * x * y * z }
        func index(_ n: Int, _ c: Int, _ x: Int, _ y: Int, _ z: Int) -> Int { (((n * self.c + c) * self.x + x) * self.y + y) * self.z + z }
    }

    /// Valid 3-D convolution with bias and optional ReLU. weights [O, C, k, k, k].
    static func conv(_ src: [Float], _ s: Shape5, weights: [Float], bias: [Float], outChannels o: Int, k: Int = 3, relu: Bool) -> (values: [Float], shape: Shape5) {
        let d = Shape5(n: s.n, c: o, x: s.x - k + 1, y: s.y - k + 1, z: s.z - k + 1)
        var out = [Float](repeating: 0, count: d.count)
        for n in 0..<d.n { for oc in 0..<o { for x in 0..<d.x { for y in 0..<d.y { for z in 0..<d.z {
            var sum = Double(bias[oc])
            for ic in 0..<s.c { for a in 0..<k { for b in 0..<k { for c in 0..<k {
                sum += Double(src[s.index(n, ic, x + a, y + b, z + c)]) * Double(weights[(((oc * s.c + ic) * k + a) * k + b) * k + c])
            } } } }
            out[d.index(n, oc, x, y, z)] = relu ? Float(max(0, sum)) : Float(sum)
        } } } } }
        return (out, d)
    }

    /// 2×2×2 max pooling, stride 2, floor.
    static func maxPool(_ src: [Float], _ s: Shape5) -> (values: [Float], shape: Shape5) {
        let d = Shape5(n: s.n, c: s.c, x: s.x / 2, y: s.y / 2, z: s.z / 2)
        var out = [Float](repeating: 0, count: d.count)
        for n in 0..<d.n { for c in 0..<d.c { for x in 0..<d.x { for y in 0..<d.y { for z in 0..<d.z {
            var best = -Float.infinity
            for a in 0..<2 { for b in 0..<2 { for e in 0..<2 { best = max(best, src[s.index(n, c, 2 * x + a, 2 * y + b, 2 * z + e)]) } } }
            out[d.index(n, c, x, y, z)] = best
        } } } } }
        return (out, d)
    }

    /// Batch normalization over N and the spatial axes, per channel; returns the batch statistics
    /// (variance biased, as Keras and oneDNN use) when `running` is nil.
    static func batchNorm(_ src: [Float], _ s: Shape5, gamma: [Float], beta: [Float], epsilon: Double,
                          running: (mean: [Float], variance: [Float])? = nil) -> (values: [Float], mean: [Double], variance: [Double]) {
        var mean = [Double](repeating: 0, count: s.c), variance = [Double](repeating: 0, count: s.c)
        let perChannel = Double(s.n * s.x * s.y * s.z)
        for c in 0..<s.c {
            if let running {
                mean[c] = Double(running.mean[c]); variance[c] = Double(running.variance[c]); continue
            }
            var sum = 0.0
            for n in 0..<s.n { for x in 0..<s.x { for y in 0..<s.y { for z in 0..<s.z { sum += Double(src[s.index(n, c, x, y, z)]) } } } }
            mean[c] = sum / perChannel
            var squares = 0.0
            for n in 0..<s.n { for x in 0..<s.x { for y in 0..<s.y { for z in 0..<s.z {
                let d = Double(src[s.index(n, c, x, y, z)]) - mean[c]; squares += d * d
            } } } }
            variance[c] = squares / perChannel
        }
        var out = src
        for n in 0..<s.n { for c in 0..<s.c { for x in 0..<s.x { for y in 0..<s.y { for z in 0..<s.z {
            let i = s.index(n, c, x, y, z)
            out[i] = Float(Double(gamma[c]) * (Double(src[i]) - mean[c]) / (variance[c] + epsilon).squareRoot() + Double(beta[c]))
        } } } } }
        return (out, mean, variance)
    }
}

/// Deterministic test values in [-1, 1).
func testValues(_ count: Int, seed: UInt32) -> [Float] {
    var state = seed &* 747_796_405 &+ 2_891_336_453
    return (0..<count).map { _ in
        state = state &* 747_796_405 &+ 2_891_336_453
        let word = ((state >> ((state >> 28) &+ 4)) ^ state) &* 277_803_737
        return Float((word >> 22) ^ word >> 8 & 0xFFFF) / 32768 - 1
    }
}

func maxDifference(_ a: [Float], _ b: [Float]) -> Float {
    precondition(a.count == b.count, "\(a.count) vs \(b.count)")
    return zip(a, b).reduce(0) { max($0, abs($1.0 - $1.1)) }
}
