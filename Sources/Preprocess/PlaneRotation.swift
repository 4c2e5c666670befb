import Foundation

// In-plane rotation matching scipy.ndimage.rotate(v, degrees, reshape=False) with its defaults
// (axes=(1, 0), order=3, mode='constant', cval=0, prefilter=True), as of scipy 1.17.
//
// scipy's pipeline, reproduced step by step so the doubles agree to the last bit where practical:
//  1. R = [[cosdg, sindg], [-sindg, cosdg]] (cephes degree trig, exact at multiples of 90°) acting on
//     (x, y) = (axis 0, axis 1); offset = (n-1)/2 - R·(n-1)/2, so input = R·output + offset.
//  2. Per plane, cubic B-spline prefilter in float64 along x then y. Mode 'constant' has no exact
//     prefilter, so scipy uses the mirror boundary (and no pre-padding, which only
//     'nearest'/'grid-constant' get).
//  3. A sample whose coordinate is outside [0, n-1] on either axis, even by one ulp, gets the fill
//     value; one inside is interpolated from the 4×4 coefficients around it, with tap indices
//     beyond the edge mirrored (-1 → 1, n → n-2), summed in scipy's order, then rounded to Float.
//
// Each z-slice has the same geometry, so the taps and weights are computed once per plane. The
// coefficients are stored z-fastest so one tap updates every slice with a contiguous,
// vectorizable loop; each slice still goes through scipy's exact sequence of operations.

/// Rotates every (x, y) plane of a volume stored x-fastest (index = x + nx*(y + ny*z)), like
/// scipy.ndimage.rotate(v, degrees, reshape=False): cubic B-spline, constant zero fill, same shape.
///
/// - Parameters:
///   - voxels: `nx * ny * nz` values, x fastest then y then z (NIfTI / Fortran order).
///   - degrees: scipy's `angle`. For 90° on a square plane, `out[i, j, k] == v[j, nx-1-i, k]`.
///   - fill: scipy's `cval`, used for output samples that map outside the input plane.
/// - Returns: a new array with the same shape and layout, bit-identical to scipy 1.17 in
///   scripts/check_rotation_parity.py (any last-bit difference stays far below 1e-6).
/// - Precondition: `voxels.count == nx * ny * nz`, dimensions non-negative.
public func rotatePlanes(_ voxels: [Float], nx: Int, ny: Int, nz: Int, degrees: Double,
                         fill: Float = 0) -> [Float] {
    precondition(nx >= 0 && ny >= 0 && nz >= 0 && voxels.count == nx * ny * nz,
                 "rotatePlanes: voxels.count must equal nx * ny * nz")
    if voxels.isEmpty { return voxels }

    let taps = PlaneTaps(nx: nx, ny: ny, nz: nz, degrees: degrees)
    let planeSize = nx * ny
    let coefficients = UnsafeMutablePointer<Double>.allocate(capacity: voxels.count)
    defer { coefficients.deallocate() }

    // Transpose to z-fastest (index = z + nz*(x + nx*y)) while widening to Double.
    voxels.withUnsafeBufferPointer { src in
        var dst = coefficients
        for y in 0..<ny {
            for x in 0..<nx {
                let column = src.baseAddress! + (x + nx * y)
                for z in 0..<nz { dst[z] = Double(column[z * planeSize]) }
                dst += nz
            }
        }
    }
    // scipy filters axis 0 (x) then axis 1 (y); a length-1 axis is left untouched.
    if nx > 1 {
        for y in 0..<ny {
            prefilterLines(coefficients + y * nx * nz, count: nx, stride: nz, width: nz)
        }
    }
    if ny > 1 {
        prefilterLines(coefficients, count: ny, stride: nx * nz, width: nx * nz)
    }

    var output = [Float](repeating: fill, count: voxels.count)
    output.withUnsafeMutableBufferPointer { out in
        taps.interpolate(coefficients, into: out.baseAddress!, planeSize: planeSize)
    }
    return output
}

/// The interpolation footprint shared by every plane: for each output pixel that maps inside the
/// input plane, its 4 x-taps and 4 y-taps (as offsets into the z-fastest coefficients) and weights.
struct PlaneTaps {
    let nz: Int
    /// Output pixel index (x + nx*y) of each interpolated pixel; all others keep the fill value.
    var pixels: [Int] = []
    var xOffsets: [Int] = []   // 4 per pixel: x index * nz
    var yOffsets: [Int] = []   // 4 per pixel: y index * nx * nz
    var xWeights: [Double] = []
    var yWeights: [Double] = []

    /// - Parameters:
    ///   - xStride, yStride: how far apart neighbouring x and y samples are in the coefficients.
    ///   - pixelIndex: where output pixel (x, y) goes, as the caller's `interpolate` reads it.
    init(nx: Int, ny: Int, nz: Int, degrees: Double, xStride: Int? = nil, yStride: Int? = nil,
         pixelIndex: (Int, Int) -> Int = { _, _ in 0 }) {
        self.nz = nz
        let xStride = xStride ?? nz, yStride = yStride ?? nx * nz
        let customPixels = xStride != nz || yStride != nx * nz
        let c = cosDegrees(degrees), s = sinDegrees(degrees)
        let (m00, m01, m10, m11) = (c, s, -s, c)
        let h0 = Double(nx - 1) / 2, h1 = Double(ny - 1) / 2
        // scipy computes R @ centre with numpy matmul, which (via OpenBLAS gemv) evaluates each row
        // as fma(r0, v0, r1 * v1); only the last bit of the offset depends on this.
        let offset0 = h0 - (m01 * h1).addingProduct(m00, h0)
        let offset1 = h1 - (m11 * h1).addingProduct(m10, h0)
        let lastX = Double(nx - 1), lastY = Double(ny - 1)

        var xTap = SplineTap(), yTap = SplineTap()
        for y in 0..<ny {
            for x in 0..<nx {
                // Same operation order as NI_GeometricTransform: shift + x*m0 + y*m1.
                let cx = (offset0 + Double(x) * m00) + Double(y) * m01
                let cy = (offset1 + Double(x) * m10) + Double(y) * m11
                // 'constant' mode: no tolerance, anything outside [0, n-1] (or NaN) is fill.
                guard cx >= 0, cx <= lastX, cy >= 0, cy <= lastY else { continue }
                xTap.set(cx, length: nx)
                yTap.set(cy, length: ny)
                pixels.append(customPixels ? pixelIndex(x, y) : x + nx * y)
                for i in 0..<4 {
                    xOffsets.append(xTap.index[i] * xStride)
                    yOffsets.append(yTap.index[i] * yStride)
                    xWeights.append(xTap.weight[i])
                    yWeights.append(yTap.weight[i])
                }
            }
        }
    }

    /// Writes every interpolated pixel of every z-slice into `output` (x-fastest layout).
    func interpolate(_ coefficients: UnsafePointer<Double>, into output: UnsafeMutablePointer<Float>,
                     planeSize: Int) {
        let nz = self.nz
        let sums = UnsafeMutablePointer<Double>.allocate(capacity: nz)
        defer { sums.deallocate() }
        pixels.withUnsafeBufferPointer { pixels in
        xOffsets.withUnsafeBufferPointer { xOffsets in
        yOffsets.withUnsafeBufferPointer { yOffsets in
        xWeights.withUnsafeBufferPointer { xWeights in
        yWeights.withUnsafeBufferPointer { yWeights in
            for p in 0..<pixels.count {
                sums.update(repeating: 0, count: nz)
                // scipy's loop: x tap outer, y tap inner, t += (coefficient * wx) * wy.
                for i in 0..<4 {
                    let wx = xWeights[4 * p + i]
                    let xOffset = xOffsets[4 * p + i]
                    for j in 0..<4 {
                        let wy = yWeights[4 * p + j]
                        let tap = coefficients + (xOffset + yOffsets[4 * p + j])
                        for z in 0..<nz { sums[z] += (tap[z] * wx) * wy }
                    }
                }
                let pixel = output + pixels[p]
                for z in 0..<nz { pixel[z * planeSize] = Float(sums[z]) }
            }
        }}}}}
    }
}

/// Cubic B-spline footprint along one axis at coordinate `cc` in [0, length-1].
struct SplineTap {
    var index = [0, 0, 0, 0]
    var weight = [0.0, 0.0, 0.0, 0.0]

    /// Mirrors tap positions beyond the edge (-1 → 1, n → n-2): the boundary scipy's 'constant'
    /// mode uses for spline coefficients, matching the mirror prefilter.
    static func mirror(_ i: Int, length n: Int) -> Int {
        if n <= 1 { return 0 }
        let period = 2 * n - 2
        if i < 0 {
            let r = period * (-i / period) + i
            return r <= 1 - n ? r + period : -r
        }
        if i > n - 1 {
            let r = i - period * (i / period)
            return r >= n ? period - r : r
        }
        return i
    }

    mutating func set(_ cc: Double, length n: Int) {
        let floorCC = cc.rounded(.down)
        let start = Int(floorCC) - 1
        let edge = start < 0 || start + 3 >= n
        for k in 0..<4 { index[k] = edge ? SplineTap.mirror(start + k, length: n) : start + k }
        // get_spline_interpolation_weights (order 3), same expressions and order.
        let y = cc - floorCC
        let z = 1.0 - y
        weight[1] = (y * y * (y - 2.0) * 3.0 + 4.0) / 6.0
        weight[2] = (z * z * (z - 2.0) * 3.0 + 4.0) / 6.0
        weight[0] = z * z * z / 6.0
        weight[3] = 1.0 - weight[0] - weight[1] - weight[2]
    }
}

/// scipy's cubic B-spline prefilter (ni_splines.c, one pole, mirror-boundary initialisation),
/// applied in place to `width` independent lanes at once: sample i of lane k is at
/// `c[i * stride + k]`.
///
/// `startTerms` bounds the causal start's sum: scipy sums the whole line (the default, for parity);
/// |z|^24 ≈ 2e-14, so 24 terms are exact to float32 and save a full pass over long lines.
func prefilterLines<T: BinaryFloatingPoint>(_ c: UnsafeMutablePointer<T>, count n: Int, stride: Int, width: Int,
                                            startTerms: Int = .max) {
    let z = T(-0.267949192431122706472553658494127633)  // sqrt(3) - 2
    let gain = (1 - z) * (1 - 1 / z)
    for i in 0..<n {
        let row = c + i * stride
        for k in 0..<width { row[k] *= gain }
    }

    // Causal initialisation for a mirror-extended line (full sum, no truncation).
    let first = c, last = c + (n - 1) * stride
    let zLast = T(pow(Double(z), Double(n - 1)))
    for k in 0..<width { first[k] = first[k] + zLast * last[k] }
    var zi = z
    if n > 2 {
        for i in 1..<min(n - 1, startTerms == .max ? n - 1 : startTerms + 1) {
            let a = c + i * stride, b = c + (n - 1 - i) * stride
            for k in 0..<width { first[k] += zi * (a[k] + zLast * b[k]) }
            zi *= z
        }
    }
    let denominator = 1 - zLast * zLast
    for k in 0..<width { first[k] /= denominator }

    for i in 1..<n {
        let row = c + i * stride, previous = row - stride
        for k in 0..<width { row[k] += z * previous[k] }
    }

    // Anticausal initialisation, then the backward pass.
    let beforeLast = last - stride
    for k in 0..<width { last[k] = (z * beforeLast[k] + last[k]) * z / (z * z - 1) }
    var i = n - 2
    while i >= 0 {
        let row = c + i * stride, next = row + stride
        for k in 0..<width { row[k] = z * (next[k] - row[k]) }
        i -= 1
    }
}

// MARK: - cephes sindg / cosdg (what scipy.special uses): exact at multiples of 90°, and
// bit-identical to scipy elsewhere, unlike sin(degrees * .pi / 180).

private let sinCoefficients: [Double] = [
    1.58962301572218447952E-10, -2.50507477628503540135E-8, 2.75573136213856773549E-6,
    -1.98412698295895384658E-4, 8.33333333332211858862E-3, -1.66666666666666307295E-1,
]
private let cosCoefficients: [Double] = [
    1.13678171382044553091E-11, -2.08758833757683644217E-9, 2.75573155429816611547E-7,
    -2.48015872936186303776E-5, 1.38888888888806666760E-3, -4.16666666666666348141E-2,
    4.99999999999999999798E-1,
]
private let radiansPerDegree = 1.74532925199432957692E-2
private let totalLossThreshold = 1.0e14

private func polevl(_ x: Double, _ coefficients: [Double]) -> Double {
    var result = coefficients[0]
    for c in coefficients.dropFirst() { result = result * x + c }
    return result
}

/// Reduces |x| degrees to an even octant: returns (y = octant start / 45, j = octant mod 8).
private func octant(_ x: Double) -> (y: Double, j: Int) {
    var y = (x / 45.0).rounded(.down)
    var z = Double(sign: .plus, exponent: -4, significand: y).rounded(.down)
    z = y - Double(sign: .plus, exponent: 4, significand: z)
    var j = Int(z)
    if j & 1 != 0 {
        j += 1
        y += 1.0
    }
    return (y, j & 7)
}

/// cephes `sindg`: sine of an angle in degrees.
func sinDegrees(_ degrees: Double) -> Double {
    var x = degrees, negative = false
    if x < 0 {
        x = -x
        negative = true
    }
    if x > totalLossThreshold { return 0 }
    var (y, j) = octant(x)
    if j > 3 {
        negative.toggle()
        j -= 4
    }
    let z = (x - y * 45.0) * radiansPerDegree
    let zz = z * z
    if j == 1 || j == 2 {
        y = 1.0 - zz * polevl(zz, cosCoefficients)
    } else {
        y = z + z * (zz * polevl(zz, sinCoefficients))
    }
    return negative ? -y : y
}

/// cephes `cosdg`: cosine of an angle in degrees.
func cosDegrees(_ degrees: Double) -> Double {
    let x = abs(degrees)
    if x > totalLossThreshold { return 0 }
    var (y, j) = octant(x)
    var negative = false
    if j > 3 {
        j -= 4
        negative.toggle()
    }
    if j > 1 { negative.toggle() }
    let z = (x - y * 45.0) * radiansPerDegree
    let zz = z * z
    if j == 1 || j == 2 {
        y = z + z * (zz * polevl(zz, sinCoefficients))
    } else {
        y = 1.0 - zz * polevl(zz, cosCoefficients)
    }
    return negative ? -y : y
}
