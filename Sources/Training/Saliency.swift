import Model
import Preprocess

/// Where the model looked for "abnormal": Grad-CAM (`Network.gradCAM`) on the convolution of the
/// block before the last, placed on the model's input grid where each of its voxels looks, and
/// kept to the body. That grid is coarse (28×28×12 at 128×128×64, one voxel per 4 input voxels),
/// so the map says which region, not which voxel.
///
/// Outside the body it is set to 0: in the air around the patient every channel sees the same
/// nothing, so its activations there are constants (the ReLU of a bias) that Grad-CAM weighs like
/// any feature, and no finding can lie there. Measured (`ctd bench saliency`), that floor held
/// ~40 % of a map's mass before.
public struct Saliency: Sendable {
    /// The map on the preprocessed scan's grid (x fastest), scaled to a maximum of 1 (all 0 when
    /// nothing in the scan pushed towards "abnormal").
    public let grid: VoxelGrid
    /// The grid the map was computed on (x, y, z), and the block (0-based) whose convolution it is.
    public let blockGrid: [Int]
    public let block: Int
    /// Axial slices (z) by their share of the saliency, highest first.
    public let slicesByShare: [Int]
    /// Share of the saliency inside the lungs (`LungMask`); nil when the map is empty or no lung is found.
    public let insideLungs: Double?

    /// From the network's map and the scan it was computed for.
    public init(_ map: GradCAMMap, scan: VoxelGrid) {
        var values = Self.place(map, nx: scan.nx, ny: scan.ny, nz: scan.nz)
        let (lungs, body) = LungMask.withBody(scan)
        for (index, inside) in body.enumerated() where !inside { values[index] = 0 }
        let peak = values.max() ?? 0
        if peak > 0 { values = values.map { max(0, $0 / peak) } }
        let up = VoxelGrid(nx: scan.nx, ny: scan.ny, nz: scan.nz, values: values)
        grid = up
        (blockGrid, block) = (map.size, map.block)
        let plane = up.nx * up.ny
        let perSlice = (0..<up.nz).map { z in up.values[(z * plane)..<((z + 1) * plane)].reduce(0, +) }
        slicesByShare = perSlice.indices.sorted { (perSlice[$0], -$0) > (perSlice[$1], -$1) }
        insideLungs = lungs.contains(true) ? Self.share(of: up.values, within: lungs) : nil
    }

    /// The map on an nx·ny·nz input grid (x fastest): linear between the voxels' centres
    /// (`origin + step · j`), and each edge voxel's value beyond the outermost centres.
    static func place(_ map: GradCAMMap, nx: Int, ny: Int, nz: Int) -> [Float] {
        let (mx, my, mz) = (map.size[0], map.size[1], map.size[2])
        /// Per output position along an axis: the two map voxels and the second one's weight.
        func taps(_ count: Int, _ mapCount: Int) -> [(Int, Int, Float)] {
            (0..<count).map { u in
                let t = min(max((Double(u) - map.origin) / map.step, 0), Double(mapCount - 1))
                let low = Int(t.rounded(.down))
                return (low, min(low + 1, mapCount - 1), Float(t - Double(low)))
            }
        }
        let tx = taps(nx, mx), ty = taps(ny, my), tz = taps(nz, mz)
        func at(_ x: Int, _ y: Int, _ z: Int) -> Float { map.values[(x * my + y) * mz + z] }  // z fastest
        var out = [Float](repeating: 0, count: nx * ny * nz)
        for z in 0..<nz {
            let (z0, z1, wz) = tz[z]
            for y in 0..<ny {
                let (y0, y1, wy) = ty[y]
                for x in 0..<nx {
                    let (x0, x1, wx) = tx[x]
                    func alongX(_ y: Int, _ z: Int) -> Float { at(x0, y, z) * (1 - wx) + at(x1, y, z) * wx }
                    let low: Float = alongX(y0, z0) * (1 - wy) + alongX(y1, z0) * wy
                    let high: Float = alongX(y0, z1) * (1 - wy) + alongX(y1, z1) * wy
                    out[x + nx * (y + ny * z)] = low * (1 - wz) + high * wz
                }
            }
        }
        return out
    }

    /// Share of the saliency inside `mask` (flags on `grid`'s voxels); nil when the map is empty.
    public func share(within mask: [Bool]) -> Double? { Self.share(of: grid.values, within: mask) }

    private static func share(of values: [Float], within mask: [Bool]) -> Double? {
        precondition(mask.count == values.count, "one flag per voxel of the map")
        var inside = 0.0, total = 0.0
        for (value, flag) in zip(values, mask) {
            total += Double(value)
            if flag { inside += Double(value) }
        }
        return total > 0 ? inside / total : nil
    }
}

extension Predictor {
    /// Classifies an already preprocessed scan and says where the model looked (one forward pass).
    public func predictExplained(_ grid: VoxelGrid, file: String) throws -> (Prediction, Saliency) {
        let map = try network.gradCAM(for: ModelInput.values(grid))
        let probability = probability(logit: Double(map.logit))
        let prediction = Prediction(file: file, probabilityAbnormal: probability, probabilityNormal: 1 - probability, logit: Double(map.logit),
                                    calibrated: calibration != nil, model: modelName)
        return (prediction, Saliency(map, scan: grid))
    }
}
