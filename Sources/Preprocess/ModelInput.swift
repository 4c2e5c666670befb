/// Conversion to the network's input layout: a grid is stored x-fastest (the file's order), the
/// network takes [1, X, Y, Z] row-major (z fastest).
public enum ModelInput {
    public static func values(_ grid: VoxelGrid) -> [Float] {
        let (nx, ny, nz) = (grid.nx, grid.ny, grid.nz)
        return [Float](unsafeUninitializedCapacity: grid.values.count) { out, initialised in
            grid.values.withUnsafeBufferPointer { source in
                for x in 0..<nx {
                    for y in 0..<ny {
                        let row = (x * ny + y) * nz
                        for z in 0..<nz { out[row + z] = source[x + nx * (y + ny * z)] }
                    }
                }
            }
            initialised = grid.values.count
        }
    }
}
