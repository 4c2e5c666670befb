/// Step 3 of the seed's preprocessing: `scipy.ndimage.zoom(v, (W/nx, H/ny, D/nz), order=1)`.
///
/// Output index `o` samples input coordinate `o · (n_in − 1)/(n_out − 1)` (corners aligned),
/// computed in float64 as scipy does. Like scipy in its default 'constant' mode, a coordinate that
/// rounding puts past the last voxel yields 0, so results match the reference bit for bit.
///
/// With `quarterTurn`, the input is first rotated by 90° in the (x, y) plane — `in[i, j, k] =
/// grid[j, n-1-i, k]`, step 2 for square slices — by remapping the sample positions, so the rotated
/// volume is never materialised.
public func zoomTrilinear(_ grid: VoxelGrid, width: Int, height: Int, depth: Int, quarterTurn: Bool = false) -> VoxelGrid {
    precondition(width > 0 && height > 0 && depth > 0, "zoom target must be positive")
    precondition(!quarterTurn || grid.nx == grid.ny, "a folded quarter turn needs square slices")
    let n = grid.nx
    // Offsets into `grid` of each axis's taps: for a quarter turn, output x walks grid y backwards
    // and output y walks grid x forwards.
    let ax = AxisSamples(inputCount: grid.nx, outputCount: width,
                         origin: quarterTurn ? (n - 1) * n : 0, stride: quarterTurn ? -n : 1)
    let ay = AxisSamples(inputCount: grid.ny, outputCount: height, origin: 0, stride: quarterTurn ? 1 : grid.nx)
    let az = AxisSamples(inputCount: grid.nz, outputCount: depth, origin: 0, stride: grid.nx * grid.ny)
    let count = width * height * depth
    let values = [Float](unsafeUninitializedCapacity: count) { out, initialised in
        grid.values.withUnsafeBufferPointer { v in
            var index = 0
            for z in 0..<depth {
                for y in 0..<height {
                    for x in 0..<width {
                        guard az.inside[z] && ay.inside[y] && ax.inside[x] else {
                            out[index] = 0; index += 1; continue
                        }
                        var sum = 0.0
                        for dz in 0..<2 {
                            let wz = az.weight[2 * z + dz], oz = az.offset[2 * z + dz]
                            for dy in 0..<2 {
                                let wyz = ay.weight[2 * y + dy] * wz, oyz = ay.offset[2 * y + dy] + oz
                                for dx in 0..<2 {
                                    sum += Double(v[ax.offset[2 * x + dx] + oyz]) * (ax.weight[2 * x + dx] * wyz)
                                }
                            }
                        }
                        out[index] = Float(sum)
                        index += 1
                    }
                }
            }
        }
        initialised = count
    }
    return VoxelGrid(nx: width, ny: height, nz: depth, values: values)
}

/// Per-axis sample positions: for every output index, two taps (as offsets into the input,
/// `origin + index · stride`) and their weights.
struct AxisSamples {
    var offset: [Int]
    var weight: [Double]
    var inside: [Bool]

    init(inputCount n: Int, outputCount m: Int, origin: Int, stride: Int) {
        // scipy: zoom = (n_in - 1) / (n_out - 1), or 1 when n_out is 1.
        let zoom = m > 1 ? Double(n - 1) / Double(m - 1) : 1
        offset = []; weight = []; inside = []
        offset.reserveCapacity(2 * m); weight.reserveCapacity(2 * m)
        for o in 0..<m {
            let c = Double(o) * zoom
            let ok = c >= 0 && c <= Double(n - 1)
            inside.append(ok)
            let start = ok ? Int(c.rounded(.down)) : 0
            let t = ok ? c - Double(start) : 0
            // The second tap falls past the end only when t == 0; clamp it (its weight is 0).
            offset += [origin + start * stride, origin + min(start + 1, n - 1) * stride]
            weight += [1 - t, t]
        }
    }
}
