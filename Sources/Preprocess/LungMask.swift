/// Which voxels of a preprocessed scan are lung: in each axial slice, what is darker than
/// `threshold` (0.5 of the seed's window is −300 HU, so ground-glass opacities count as lung) and
/// not connected to the slice's edge (the air around the body). A rough mask, for saying how much
/// of a saliency map falls in the lungs; not a segmentation to measure anything with.
public enum LungMask {
    /// nx·ny·nz flags in the grid's layout (x fastest).
    public static func estimate(_ grid: VoxelGrid, threshold: Float = 0.5) -> [Bool] {
        withBody(grid, threshold: threshold).lungs
    }

    /// The lungs and the body (`BodyMask`) from one flood fill, for callers that need both.
    public static func withBody(_ grid: VoxelGrid, threshold: Float = 0.5) -> (lungs: [Bool], body: [Bool]) {
        let outside = OutsideAir.estimate(grid, threshold: threshold)
        return (grid.values.indices.map { !outside[$0] && grid.values[$0] < threshold }, outside.map { !$0 })
    }
}

/// Which voxels of a preprocessed scan are the patient (and what touches it, such as the table's
/// shell): in each axial slice, everything but the dark region connected to the slice's edge.
public enum BodyMask {
    /// nx·ny·nz flags in the grid's layout (x fastest).
    public static func estimate(_ grid: VoxelGrid, threshold: Float = 0.5) -> [Bool] {
        OutsideAir.estimate(grid, threshold: threshold).map { !$0 }
    }
}

/// The air around the body: per axial slice, what is darker than the threshold and connected to
/// the slice's edge (4-connected).
enum OutsideAir {
    static func estimate(_ grid: VoxelGrid, threshold: Float) -> [Bool] {
        let (nx, ny, nz) = (grid.nx, grid.ny, grid.nz)
        var outside = [Bool](repeating: false, count: grid.values.count)
        var stack: [Int] = []
        for z in 0..<nz {
            let slab = z * nx * ny
            for x in 0..<nx { stack += [slab + x, slab + x + nx * (ny - 1)] }
            for y in 0..<ny { stack += [slab + nx * y, slab + nx - 1 + nx * y] }
            while let i = stack.popLast() {
                guard !outside[i], grid.values[i] < threshold else { continue }
                outside[i] = true
                let (x, y) = ((i - slab) % nx, (i - slab) / nx)
                if x > 0 { stack.append(i - 1) }
                if x < nx - 1 { stack.append(i + 1) }
                if y > 0 { stack.append(i - nx) }
                if y < ny - 1 { stack.append(i + nx) }
            }
        }
        return outside
    }
}
