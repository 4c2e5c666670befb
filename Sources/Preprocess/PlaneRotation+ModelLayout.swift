/// The training augmentation's rotation: the same geometry and cubic spline as `rotatePlanes`, on
/// a volume in the network's layout ([X][Y][Z], z fastest: index = z + nz·(y + ny·x)) and in
/// float32 arithmetic. No transposes and half the memory traffic make it several times faster; the
/// result differs from scipy's by float32 rounding only (~1e-6), which a random augmentation can
/// afford. Zero fill outside the plane.
public func rotatePlanesZFastest(_ values: [Float], nx: Int, ny: Int, nz: Int, degrees: Double) -> [Float] {
    precondition(nx > 0 && ny > 0 && nz > 0 && values.count == nx * ny * nz, "rotatePlanesZFastest: values.count must equal nx * ny * nz")
    let taps = PlaneTaps(nx: nx, ny: ny, nz: nz, degrees: degrees, xStride: ny * nz, yStride: nz) { x, y in (x * ny + y) * nz }
    var coefficients = values
    coefficients.withUnsafeMutableBufferPointer { c in
        // scipy filters axis 0 (x) then axis 1 (y).
        if nx > 1 { prefilterLines(c.baseAddress!, count: nx, stride: ny * nz, width: ny * nz, startTerms: 24) }
        if ny > 1 { for x in 0..<nx { prefilterLines(c.baseAddress! + x * ny * nz, count: ny, stride: nz, width: nz, startTerms: 24) } }
    }
    var output = [Float](repeating: 0, count: values.count)
    coefficients.withUnsafeBufferPointer { c in
        output.withUnsafeMutableBufferPointer { out in
            taps.pixels.withUnsafeBufferPointer { pixels in
            taps.xOffsets.withUnsafeBufferPointer { xOffsets in
            taps.yOffsets.withUnsafeBufferPointer { yOffsets in
            taps.xWeights.withUnsafeBufferPointer { xWeights in
            taps.yWeights.withUnsafeBufferPointer { yWeights in
                for p in 0..<pixels.count {
                    let pixel = out.baseAddress! + pixels[p]
                    for i in 0..<4 {
                        let xOffset = xOffsets[4 * p + i], wx = xWeights[4 * p + i]
                        for j in 0..<4 {
                            let w = Float(wx * yWeights[4 * p + j])
                            let tap = c.baseAddress! + (xOffset + yOffsets[4 * p + j])
                            for z in 0..<nz { pixel[z] += tap[z] * w }
                        }
                    }
                }
            }}}}}
        }
    }
    return output
}
