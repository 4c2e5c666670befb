import Foundation
import SeededRandom

/// Smooth random texture with unit variance, for lung parenchyma and irregular lesion borders.
///
/// Never evaluated per voxel in 3-D: a coarse 3-D lattice (25 mm in-plane, 20 mm in z) is sampled
/// trilinearly onto a 6 mm lattice per slice, independent 6 mm detail is added, and only that small
/// lattice is upsampled to pixels by a separable cubic B-spline (4 multiply-adds per pixel).
/// Assumes square slices with isotropic in-plane spacing.
struct TextureField {
    private let n: Int
    private let spacing: Double          // fine lattice spacing (mm)
    private let lattice: Int              // fine lattice nodes per side
    private let origin: Double            // mm position of fine node 0
    private let coarse: [Float]
    private let cw: Int, cd: Int
    private let coarseOrigin: Double, coarseOriginZ: Double
    private static let coarseSpacing = 25.0, coarseSpacingZ = 20.0
    /// Per pixel column (= row): first lattice node and the four B-spline weights.
    private let index: [Int]
    private let weights: [SIMD4<Float>]
    private let coarseWeight: Float = 0.8, fineWeight: Float = 0.6
    /// Brings the B-spline-smoothed mixture back to unit variance (measured).
    private let gain: Float = 2.05

    init(n: Int, pixel: Double, depth: Double, rng: inout SeededGenerator) {
        self.n = n
        spacing = 6
        let fov = Double(n) * pixel
        origin = -fov / 2 - spacing
        lattice = Int((fov / spacing).rounded(.up)) + 4
        coarseOrigin = origin - Self.coarseSpacing
        coarseOriginZ = -Self.coarseSpacingZ
        cw = Int((Double(lattice - 1) * spacing + 2 * Self.coarseSpacing) / Self.coarseSpacing) + 3
        cd = Int((depth + 2 * Self.coarseSpacingZ) / Self.coarseSpacingZ) + 3
        var c = [Float](repeating: 0, count: cw * cw * cd)
        for i in c.indices { c[i] = Float(rng.nextGaussian()) }
        coarse = c
        var idx = [Int](repeating: 0, count: n)
        var w = [SIMD4<Float>](repeating: .zero, count: n)
        for x in 0..<n {
            let pos = ((Double(x) + 0.5 - Double(n) / 2) * pixel - origin) / spacing
            let i = Int(pos.rounded(.down))
            let f = pos - Double(i), g = 1 - f
            idx[x] = i - 1
            w[x] = SIMD4<Float>(Float(g * g * g / 6), Float((3 * f * f * f - 6 * f * f + 4) / 6),
                                Float((-3 * f * f * f + 3 * f * f + 3 * f + 1) / 6), Float(f * f * f / 6))
        }
        index = idx
        weights = w
    }

    /// Trilinear sample of the coarse lattice at (x, y, z) mm.
    private func coarseSample(_ x: Double, _ y: Double, _ z: Double) -> Float {
        let px = (x - coarseOrigin) / Self.coarseSpacing, py = (y - coarseOrigin) / Self.coarseSpacing
        let pz = min(max((z - coarseOriginZ) / Self.coarseSpacingZ, 0), Double(cd) - 1.001)
        let ix = Int(px), iy = Int(py), iz = Int(pz)
        let fx = Float(px - Double(ix)), fy = Float(py - Double(iy)), fz = Float(pz - Double(iz))
        @inline(__always) func at(_ a: Int, _ b: Int, _ c: Int) -> Float { coarse[a + cw * (b + cw * c)] }
        func plane(_ k: Int) -> Float {
            let top = at(ix, iy, k) * (1 - fx) + at(ix + 1, iy, k) * fx
            let bottom = at(ix, iy + 1, k) * (1 - fx) + at(ix + 1, iy + 1, k) * fx
            return top * (1 - fy) + bottom * fy
        }
        return plane(iz) * (1 - fz) + plane(iz + 1) * fz
    }

    /// Writes the texture of the slice at height `z` (mm) into rows first...last of `out` (n×n).
    func fill(_ out: UnsafeMutablePointer<Float>, z: Double, rows first: Int, _ last: Int,
              rng: inout SeededGenerator) {
        guard first <= last else { return }
        let j0 = index[first], j1 = index[last] + 4
        let m = lattice
        // Lattice values for node rows j0..<j1 (all columns).
        var nodes = [Float](repeating: 0, count: (j1 - j0) * m)
        for j in j0..<j1 {
            let yy = origin + Double(j) * spacing
            for i in 0..<m {
                let xx = origin + Double(i) * spacing
                nodes[(j - j0) * m + i] = coarseWeight * coarseSample(xx, yy, z) + fineWeight * rng.fastGaussian()
            }
        }
        // Pass 1: upsample each node row along x.
        var rowsX = [Float](repeating: 0, count: (j1 - j0) * n)
        nodes.withUnsafeBufferPointer { nd in
            rowsX.withUnsafeMutableBufferPointer { rx in
                for j in 0..<(j1 - j0) {
                    for x in 0..<n {
                        let i = index[x], w = weights[x], b = j * m + i
                        rx[j * n + x] = w.x * nd[b] + w.y * nd[b + 1] + w.z * nd[b + 2] + w.w * nd[b + 3]
                    }
                }
            }
        }
        // Pass 2: along y, contiguous in x.
        rowsX.withUnsafeBufferPointer { rx in
            for y in first...last {
                let w = weights[y] * gain
                let b = (index[y] - j0) * n
                let dst = out + y * n
                for x in 0..<n {
                    dst[x] = w.x * rx[b + x] + w.y * rx[b + n + x] + w.z * rx[b + 2 * n + x] + w.w * rx[b + 3 * n + x]
                }
            }
        }
    }
}
