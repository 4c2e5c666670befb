/// Which voxels of a preprocessed scan are lung: in each axial slice, what is darker than
/// `threshold` (0.5 of the seed's window is −300 HU, so ground-glass opacities count as lung) and
/// not connected to the slice's edge (the air around the body). A rough mask, for saying how much
/// of a saliency map falls in the lungs; not a segmentation to measure anything with.
public enum LungMask {
    /// nx·ny·nz flags in the grid's layout (x fastest).
    public static func estimate(_ grid: VoxelGrid, threshold: Float = 0.5) -> [Bool] {
        let (nx, ny, nz) = (grid.nx, grid.ny, grid.nz)
        var mask = [Bool](repeating: false, count: grid.values.count)
        var outside = [Bool](repeating: false, count: nx * ny)
        var stack: [Int] = []
        for z in 0..<nz {
            let slab = z * nx * ny
            for i in outside.indices { outside[i] = false }
            // Flood the dark region connected to the edge (4-connected).
            for x in 0..<nx { stack += [x, x + nx * (ny - 1)] }
            for y in 0..<ny { stack += [nx * y, nx - 1 + nx * y] }
            while let i = stack.popLast() {
                guard !outside[i], grid.values[slab + i] < threshold else { continue }
                outside[i] = true
                let (x, y) = (i % nx, i / nx)
                if x > 0 { stack.append(i - 1) }
                if x < nx - 1 { stack.append(i + 1) }
                if y > 0 { stack.append(i - nx) }
                if y < ny - 1 { stack.append(i + nx) }
            }
            for i in 0..<(nx * ny) where !outside[i] && grid.values[slab + i] < threshold { mask[slab + i] = true }
        }
        return mask
    }
}
