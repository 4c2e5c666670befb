/// Step 3 of the seed's preprocessing: `scipy.ndimage.zoom(v, (W/nx, H/ny, D/nz), order=1)`.
///
/// Output index `o` samples input coordinate `o · (n_in − 1)/(n_out − 1)` (corners aligned),
/// computed in float64 as scipy does. Like scipy in its default 'constant' mode, a coordinate that
/// rounding puts past the last voxel yields 0, so results match the reference bit for bit.
public func zoomTrilinear(_ grid: VoxelGrid, width: Int, height: Int, depth: Int) -> VoxelGrid {
    precondition(width > 0 && height > 0 && depth > 0, "zoom target must be positive")
    let ax = AxisSamples(inputCount: grid.nx, outputCount: width)
    let ay = AxisSamples(inputCount: grid.ny, outputCount: height)
    let az = AxisSamples(inputCount: grid.nz, outputCount: depth)
    let sx = 1, sy = grid.nx, sz = grid.nx * grid.ny
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
                            let wz = az.weight[2 * z + dz], oz = az.index[2 * z + dz] * sz
                            for dy in 0..<2 {
                                let wyz = ay.weight[2 * y + dy] * wz, oyz = ay.index[2 * y + dy] * sy + oz
                                for dx in 0..<2 {
                                    sum += Double(v[ax.index[2 * x + dx] * sx + oyz]) * (ax.weight[2 * x + dx] * wyz)
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

/// Per-axis sample positions: for every output index, two input indices and their weights.
struct AxisSamples {
    var index: [Int]
    var weight: [Double]
    var inside: [Bool]

    init(inputCount n: Int, outputCount m: Int) {
        // scipy: zoom = (n_in - 1) / (n_out - 1), or 1 when n_out is 1.
        let zoom = m > 1 ? Double(n - 1) / Double(m - 1) : 1
        index = []; weight = []; inside = []
        index.reserveCapacity(2 * m); weight.reserveCapacity(2 * m)
        for o in 0..<m {
            let c = Double(o) * zoom
            let ok = c >= 0 && c <= Double(n - 1)
            inside.append(ok)
            let start = ok ? Int(c.rounded(.down)) : 0
            let t = ok ? c - Double(start) : 0
            // The second tap falls past the end only when t == 0; clamp it (its weight is 0).
            index += [start, min(start + 1, n - 1)]
            weight += [1 - t, t]
        }
    }
}
