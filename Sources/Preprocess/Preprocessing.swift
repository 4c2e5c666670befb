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
        resize(rotate(parameters.window.apply(to: volume)))
    }

    /// Step 2 alone (exposed so the benchmark can time each step).
    public func rotate(_ grid: VoxelGrid) -> VoxelGrid {
        switch parameters.rotationDegrees {
        case 0: return grid
        case 90: return rotate90(grid)
        default: return VoxelGrid(nx: grid.nx, ny: grid.ny, nz: grid.nz,
                                  values: rotatePlanes(grid.values, nx: grid.nx, ny: grid.ny, nz: grid.nz, degrees: parameters.rotationDegrees))
        }
    }

    /// Step 3 alone.
    public func resize(_ grid: VoxelGrid) -> VoxelGrid {
        zoomTrilinear(grid, width: parameters.width, height: parameters.height, depth: parameters.depth)
    }
}
