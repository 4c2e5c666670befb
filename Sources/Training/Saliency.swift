import Preprocess

/// Where the model looked for "abnormal": Grad-CAM on the last convolution block
/// (`Network.gradCAM`), upsampled to the model's input grid. That block's grid is coarse (6×6×2
/// at 128×128×64), so the map says which region, not which voxel.
public struct Saliency: Sendable {
    /// The map on the preprocessed scan's grid (x fastest), scaled to a maximum of 1 (all 0 when
    /// nothing in the scan pushed towards "abnormal").
    public let grid: VoxelGrid
    /// The last block's grid the map was computed on (x, y, z).
    public let blockGrid: [Int]
    /// Axial slices (z) by their share of the saliency, highest first.
    public let slicesByShare: [Int]
    /// Share of the saliency inside the lungs (`LungMask`); nil when the map is empty or no lung is found.
    public let insideLungs: Double?

    /// From the block's map (network layout: z fastest) and the scan it was computed for.
    init(blockMap map: [Float], size: [Int], scan: VoxelGrid) {
        let (bx, by, bz) = (size[0], size[1], size[2])
        var values = [Float](repeating: 0, count: map.count)
        for x in 0..<bx { for y in 0..<by { for z in 0..<bz { values[x + bx * (y + by * z)] = map[(x * by + y) * bz + z] } } }
        var up = zoomTrilinear(VoxelGrid(nx: bx, ny: by, nz: bz, values: values), width: scan.nx, height: scan.ny, depth: scan.nz)
        let peak = up.values.max() ?? 0
        if peak > 0 { up = VoxelGrid(nx: up.nx, ny: up.ny, nz: up.nz, values: up.values.map { max(0, $0 / peak) }) }
        grid = up
        blockGrid = size
        let plane = up.nx * up.ny
        let perSlice = (0..<up.nz).map { z in up.values[(z * plane)..<((z + 1) * plane)].reduce(0, +) }
        slicesByShare = perSlice.indices.sorted { (perSlice[$0], -$0) > (perSlice[$1], -$1) }
        let total = up.values.reduce(0, +)
        let lungs = LungMask.estimate(scan)
        let inside = zip(up.values, lungs).reduce(Float(0)) { $0 + ($1.1 ? $1.0 : 0) }
        insideLungs = total > 0 && lungs.contains(true) ? Double(inside / total) : nil
    }
}

extension Predictor {
    /// Classifies an already preprocessed scan and says where the model looked (one forward pass).
    public func predictExplained(_ grid: VoxelGrid, file: String) throws -> (Prediction, Saliency) {
        let (logit, map, size) = try network.gradCAM(for: ModelInput.values(grid))
        let probability = probability(logit: Double(logit))
        let prediction = Prediction(file: file, probabilityAbnormal: probability, probabilityNormal: 1 - probability, logit: Double(logit),
                                    calibrated: calibration != nil, model: modelName)
        return (prediction, Saliency(blockMap: map, size: size, scan: grid))
    }
}
