/// Step 2 of the seed's preprocessing: `scipy.ndimage.rotate(v, 90, reshape=False)`.
///
/// Square slices are an exact permutation, `out[i, j, k] = v[j, n-1-i, k]`, done as a blocked
/// transpose. Non-square slices rotate about the slice centre with zero fill and cubic-spline
/// interpolation, exactly as scipy does (`rotatePlanes`).
public func rotate90(_ grid: VoxelGrid) -> VoxelGrid {
    guard grid.nx == grid.ny else {
        return VoxelGrid(nx: grid.nx, ny: grid.ny, nz: grid.nz,
                         values: rotatePlanes(grid.values, nx: grid.nx, ny: grid.ny, nz: grid.nz, degrees: 90))
    }
    let n = grid.nx
    let plane = n * n
    let block = 32
    let values = [Float](unsafeUninitializedCapacity: grid.values.count) { out, initialised in
        grid.values.withUnsafeBufferPointer { input in
            for z in 0..<grid.nz {
                let src = input.baseAddress! + z * plane
                let dst = out.baseAddress! + z * plane
                // Blocks keep both the strided reads and the writes inside the cache.
                for j0 in stride(from: 0, to: n, by: block) {
                    for i0 in stride(from: 0, to: n, by: block) {
                        for j in j0..<min(j0 + block, n) {
                            for i in i0..<min(i0 + block, n) {
                                dst[i + n * j] = src[j + n * (n - 1 - i)]
                            }
                        }
                    }
                }
            }
        }
        initialised = grid.values.count
    }
    return VoxelGrid(nx: n, ny: n, nz: grid.nz, values: values)
}
