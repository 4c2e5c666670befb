import Foundation

/// The training augmentation's rotation: the same geometry and cubic spline as `rotatePlanes`, on
/// a volume in the network's layout ([X][Y][Z], z fastest: index = z + nz·(y + ny·x)) and in
/// float32 arithmetic. No transposes and half the memory traffic make it several times faster; the
/// result differs from scipy's by float32 rounding only (~1e-6), which a random augmentation can
/// afford. Zero fill outside the plane; results are clipped to [0, 1] as they are written, as the
/// augmentation needs.
public func rotatePlanesZFastest(_ values: [Float], nx: Int, ny: Int, nz: Int, degrees: Double) -> [Float] {
    precondition(nx > 0 && ny > 0 && nz > 0 && values.count == nx * ny * nz, "rotatePlanesZFastest: values.count must equal nx * ny * nz")
    return [Float](unsafeUninitializedCapacity: values.count) { out, initialised in
        rotatePlanesZFastest(values, nx: nx, ny: ny, nz: nz, degrees: degrees, into: out.baseAddress!)
        initialised = values.count
    }
}

/// The same, written into `out` (nx·ny·nz floats, fully overwritten).
public func rotatePlanesZFastest(_ values: [Float], nx: Int, ny: Int, nz: Int, degrees: Double,
                                 into out: UnsafeMutablePointer<Float>) {
    precondition(nx > 0 && ny > 0 && nz > 0 && values.count == nx * ny * nz, "rotatePlanesZFastest: values.count must equal nx * ny * nz")
    let kernel = ZFastestKernel.cached(nx: nx, ny: ny, nz: nz, degrees: degrees)
    var coefficients = values
    coefficients.withUnsafeMutableBufferPointer { c in
        // scipy filters axis 0 (x) then axis 1 (y).
        if nx > 1 { prefilterLines(c.baseAddress!, count: nx, stride: ny * nz, width: ny * nz, startTerms: 24) }
        if ny > 1 { for x in 0..<nx { prefilterLines(c.baseAddress! + x * ny * nz, count: ny, stride: nz, width: nz, startTerms: 24) } }
    }
    out.update(repeating: 0, count: values.count)
    coefficients.withUnsafeBufferPointer { c in
        kernel.apply(c.baseAddress!, nz: nz, into: out)
    }
}

/// For one plane size and angle: each interpolated output pixel's 16 taps, as offsets into the
/// z-fastest coefficients, and their float32 weights. The augmentation draws from a handful of
/// angles, so kernels are built once and shared.
final class ZFastestKernel: Sendable {
    let pixels: [Int]
    let offsets: [Int]
    let weights: [Float]

    private init(nx: Int, ny: Int, nz: Int, degrees: Double) {
        let taps = PlaneTaps(nx: nx, ny: ny, nz: nz, degrees: degrees, xStride: ny * nz, yStride: nz) { x, y in (x * ny + y) * nz }
        var offsets = [Int](), weights = [Float]()
        offsets.reserveCapacity(16 * taps.pixels.count)
        weights.reserveCapacity(16 * taps.pixels.count)
        for p in taps.pixels.indices {
            for i in 0..<4 {
                for j in 0..<4 {
                    offsets.append(taps.xOffsets[4 * p + i] + taps.yOffsets[4 * p + j])
                    weights.append(Float(taps.xWeights[4 * p + i] * taps.yWeights[4 * p + j]))
                }
            }
        }
        (self.pixels, self.offsets, self.weights) = (taps.pixels, offsets, weights)
    }

    private struct Key: Hashable { let nx, ny, nz: Int; let degrees: UInt64 }
    private static let cache = NSLock()
    nonisolated(unsafe) private static var kernels: [Key: ZFastestKernel] = [:]

    static func cached(nx: Int, ny: Int, nz: Int, degrees: Double) -> ZFastestKernel {
        let key = Key(nx: nx, ny: ny, nz: nz, degrees: degrees.bitPattern)
        if let kernel = cache.withLock({ kernels[key] }) { return kernel }
        let kernel = ZFastestKernel(nx: nx, ny: ny, nz: nz, degrees: degrees)
        cache.withLock {
            // A few angles and sizes in practice; a bound keeps a stream of odd angles from growing it.
            if kernels.count >= 64 { kernels.removeAll() }
            kernels[key] = kernel
        }
        return kernel
    }

    /// Sums each pixel's taps in the same order as the exact path, sixteen slices at a time in
    /// registers, so each output is written once instead of once per tap.
    func apply(_ c: UnsafePointer<Float>, nz: Int, into out: UnsafeMutablePointer<Float>) {
        pixels.withUnsafeBufferPointer { pixels in
        offsets.withUnsafeBufferPointer { offsets in
        weights.withUnsafeBufferPointer { weights in
            for p in 0..<pixels.count {
                let pixel = out + pixels[p]
                let tapOffsets = offsets.baseAddress! + 16 * p, tapWeights = weights.baseAddress! + 16 * p
                var z = 0
                while z + 16 <= nz {
                    var sum = SIMD16<Float>()
                    for t in 0..<16 {
                        sum += UnsafeRawPointer(c + tapOffsets[t] + z).loadUnaligned(as: SIMD16<Float>.self) * tapWeights[t]
                    }
                    UnsafeMutableRawPointer(pixel + z).storeBytes(of: sum, as: SIMD16<Float>.self)
                    z += 16
                }
                // (SIMD16's clamped(lowerBound:upperBound:) is six times slower than the whole sum.)
                for k in 0..<z { pixel[k] = min(max(pixel[k], 0), 1) }
                while z < nz {
                    var sum: Float = 0
                    for t in 0..<16 { sum += c[tapOffsets[t] + z] * tapWeights[t] }
                    pixel[z] = min(max(sum, 0), 1)
                    z += 1
                }
            }
        }}}
    }
}
