/// Operations on masks over a grid: nx·ny·nz flags, x fastest (as `LungMask` and a synthetic
/// scan's lesion mask give them).
public enum VoxelMask {
    /// Every voxel within `steps` face-steps (city-block distance) of the mask: what
    /// scipy.ndimage.binary_dilation gives with its default (6-connected) structure and
    /// `iterations = steps`. Two raster passes of a distance transform, so the cost does not
    /// grow with `steps`.
    public static func dilated(_ mask: [Bool], nx: Int, ny: Int, nz: Int, by steps: Int) -> [Bool] {
        precondition(mask.count == nx * ny * nz, "mask holds nx·ny·nz flags")
        precondition(steps >= 0, "steps must not be negative")
        let far = Int32.max / 2
        var distance = mask.map { $0 ? Int32(0) : far }
        let plane = nx * ny
        distance.withUnsafeMutableBufferPointer { d in
            // Forward: from the voxels before (x−1, y−1, z−1); backward: from those after.
            for z in 0..<nz { for y in 0..<ny { for x in 0..<nx {
                let p = x + nx * y + plane * z
                var best = d[p]
                if x > 0 { best = min(best, d[p - 1] + 1) }
                if y > 0 { best = min(best, d[p - nx] + 1) }
                if z > 0 { best = min(best, d[p - plane] + 1) }
                d[p] = best
            } } }
            for z in stride(from: nz - 1, through: 0, by: -1) { for y in stride(from: ny - 1, through: 0, by: -1) {
                for x in stride(from: nx - 1, through: 0, by: -1) {
                    let p = x + nx * y + plane * z
                    var best = d[p]
                    if x < nx - 1 { best = min(best, d[p + 1] + 1) }
                    if y < ny - 1 { best = min(best, d[p + nx] + 1) }
                    if z < nz - 1 { best = min(best, d[p + plane] + 1) }
                    d[p] = best
                }
            } }
        }
        return distance.map { $0 <= Int32(steps) }
    }
}

extension Preprocessor {
    /// A mask drawn on a scan's voxels, carried to the model's grid by the same rotation and resize
    /// as the scan (`rotateAndResize`): a voxel of the result is in the mask when at least half of
    /// its interpolated value comes from masked voxels.
    /// - Precondition: `mask` holds nx·ny·nz flags.
    public func resample(mask: [Bool], nx: Int, ny: Int, nz: Int) -> [Bool] {
        precondition(mask.count == nx * ny * nz, "mask holds nx·ny·nz flags")
        let grid = VoxelGrid(nx: nx, ny: ny, nz: nz, values: mask.map { $0 ? 1 : 0 })
        return rotateAndResize(grid).values.map { $0 >= 0.5 }
    }
}
