import NIfTI

/// Step 1 of the seed's preprocessing: clip Hounsfield units to [lower, upper] and map them to
/// [0, 1] — `clip(v, lower, upper); (v - lower) / (upper - lower)` in float64, then float32.
public struct HounsfieldWindow: Sendable, Equatable, Codable {
    public var lower: Double
    public var upper: Double

    /// The seed's lung window: -1000 HU (air) to 400 HU.
    public static let seed = HounsfieldWindow(lower: -1000, upper: 400)

    public init(lower: Double, upper: Double) {
        precondition(lower < upper, "window lower bound must be below the upper bound")
        self.lower = lower
        self.upper = upper
    }

    /// Maps one scaled voxel value. NaN becomes 0 (the reference would keep it, and a single NaN
    /// would poison training), which is the only deviation from the seed.
    @inlinable
    public func apply(_ value: Double) -> Float {
        guard !value.isNaN else { return 0 }
        let clipped = value < lower ? lower : (value > upper ? upper : value)
        return Float((clipped - lower) / (upper - lower))
    }

    /// The whole volume windowed, in one pass over the raw voxels (a lookup table for 8/16-bit data).
    public func apply(to volume: Volume) -> VoxelGrid {
        let (nx, ny, nz) = volume.shape
        let window = self
        return VoxelGrid(nx: nx, ny: ny, nz: nz, values: volume.mapValuesTabulated { window.apply($0) })
    }
}
