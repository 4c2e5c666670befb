import NIfTI

/// Everything that decides a preprocessed tensor's values. Cached tensors are keyed by the scan's
/// content hash *and* these, so changing any of them invalidates the cache.
public struct PreprocessParameters: Sendable, Hashable, Codable {
    /// Bump when the algorithm changes in a way the fields below do not capture.
    public static let algorithmVersion = 1

    public var width: Int
    public var height: Int
    public var depth: Int
    public var windowLower: Double
    public var windowUpper: Double
    /// In-plane rotation before resizing; the seed uses 90°.
    public var rotationDegrees: Double
    public var algorithm: Int

    /// The seed's choices: 128×128×64, window [-1000, 400] HU, rotate 90°.
    public static let seed = PreprocessParameters(width: 128, height: 128, depth: 64)

    public init(width: Int, height: Int, depth: Int, window: HounsfieldWindow = .seed, rotationDegrees: Double = 90) {
        self.width = width
        self.height = height
        self.depth = depth
        windowLower = window.lower
        windowUpper = window.upper
        self.rotationDegrees = rotationDegrees
        algorithm = Self.algorithmVersion
    }

    public var window: HounsfieldWindow { HounsfieldWindow(lower: windowLower, upper: windowUpper) }

    /// A short stable text naming these parameters, for cache keys and file names.
    public var key: String {
        "v\(algorithm)-\(width)x\(height)x\(depth)-w\(formatted(windowLower))_\(formatted(windowUpper))-r\(formatted(rotationDegrees))"
    }

    private func formatted(_ value: Double) -> String {
        value == value.rounded() && abs(value) < 1e15 ? String(Int(value)) : String(value)
    }
}

/// The seed's `process_scan` after reading: window, rotate, resize. Pure and deterministic.
public struct Preprocessor: Sendable {
    public let parameters: PreprocessParameters

    public init(_ parameters: PreprocessParameters = .seed) {
        self.parameters = parameters
    }

    /// The model-ready grid of `width × height × depth` values in [0, 1], x fastest.
    public func run(_ volume: Volume) -> VoxelGrid {
        rotateAndResize(window(volume))
    }

    /// Step 1: the HU window.
    public func window(_ volume: Volume) -> VoxelGrid {
        parameters.window.apply(to: volume)
    }

    /// Steps 2 and 3: rotate, then resize. The seed's 90° turn of square slices is folded into the
    /// resize's sample positions (an exact permutation, so nothing changes but the cost: no
    /// rotated copy of the full-size volume); other cases rotate first (`rotatePlanes`).
    public func rotateAndResize(_ grid: VoxelGrid) -> VoxelGrid {
        let (w, h, d) = (parameters.width, parameters.height, parameters.depth)
        switch parameters.rotationDegrees {
        case 0:
            return zoomTrilinear(grid, width: w, height: h, depth: d)
        case 90 where grid.nx == grid.ny:
            return zoomTrilinear(grid, width: w, height: h, depth: d, quarterTurn: true)
        default:
            let rotated = VoxelGrid(nx: grid.nx, ny: grid.ny, nz: grid.nz,
                                    values: rotatePlanes(grid.values, nx: grid.nx, ny: grid.ny, nz: grid.nz, degrees: parameters.rotationDegrees))
            return zoomTrilinear(rotated, width: w, height: h, depth: d)
        }
    }
}
