/// The seed's network, described as data: four conv blocks then a small dense head.
///
///     input [N, 1, X, Y, Z]
///     4 × { Conv3D(k³=3, valid) + ReLU → MaxPool3D(2) → BatchNorm }   filters 64, 64, 128, 256
///     GlobalAveragePooling3D → Dense(512) + ReLU → Dropout(0.3) → Dense(1) → sigmoid
///
/// Each block maps an axis n to ⌊(n − 2) / 2⌋, so every axis needs at least 46 voxels.
public struct Architecture: Sendable, Equatable, Codable {
    public static let filters = [64, 64, 128, 256]
    public static let hiddenUnits = 512
    public static let dropoutRate: Float = 0.3
    public static let batchNormMomentum: Float = 0.99
    public static let batchNormEpsilon: Float = 1e-3
    /// The smallest input axis the four valid-conv + pool stages leave at least one voxel of.
    public static let minimumAxis = 46

    /// Input size (x, y, z) in voxels.
    public let width: Int
    public let height: Int
    public let depth: Int

    /// Why an input size cannot be used.
    public struct SizeError: Error, CustomStringConvertible, Equatable {
        public let width: Int, height: Int, depth: Int
        public var description: String {
            "input size \(width)×\(height)×\(depth) is too small: the four conv+pool stages need at least \(Architecture.minimumAxis) voxels on every axis (48×48×48 is about the smallest useful size)"
        }
    }

    /// Where voxel j of block `block`'s convolution output (0-based block) looks on the input, on
    /// every axis: the centre of its receptive field is at input voxel `origin + step · j`. A valid
    /// 3³ convolution moves the centre by one voxel, a 2³ pooling doubles the step and adds half a
    /// voxel: block 0's j → j + 1, each later block's j → its input's 2j + 2.5.
    public static func convolutionGrid(block: Int) -> (origin: Double, step: Double) {
        precondition(filters.indices.contains(block), "block is 0…\(filters.count - 1)")
        var (origin, step) = (1.0, 1.0)
        for _ in 0..<block { (origin, step) = (origin + 2.5 * step, 2 * step) }
        return (origin, step)
    }

    /// The seed's input, 128×128×64.
    public static let seed = try! Architecture(width: 128, height: 128, depth: 64)

    public init(width: Int, height: Int, depth: Int) throws(SizeError) {
        guard [width, height, depth].allSatisfy({ (Self.minimumAxis...4096).contains($0) }) else {
            throw SizeError(width: width, height: height, depth: depth)
        }
        self.width = width
        self.height = height
        self.depth = depth
    }

    /// Spatial size after block `index` (0-based): conv shrinks by 2, pooling halves (floor).
    public func pooledSize(afterBlock index: Int) -> [Int] {
        var size = [width, height, depth]
        for _ in 0...index { size = size.map { ($0 - 2) / 2 } }
        return size
    }

    /// Spatial size of block `index`'s convolution output.
    public func convolutionSize(ofBlock index: Int) -> [Int] {
        (index == 0 ? [width, height, depth] : pooledSize(afterBlock: index - 1)).map { $0 - 2 }
    }

    /// Input channels of block `index`.
    public func inputChannels(ofBlock index: Int) -> Int { index == 0 ? 1 : Self.filters[index - 1] }

    /// Every parameter tensor's name and shape, in the checkpoint's order and layout.
    public var parameterShapes: [(name: String, shape: [Int])] {
        var shapes: [(String, [Int])] = []
        for (index, filters) in Self.filters.enumerated() {
            let block = index + 1
            // weight: [out, in, 3, 3, 3] over (x, y, z)
            shapes.append(("conv\(block).weight", [filters, inputChannels(ofBlock: index), 3, 3, 3]))
            shapes.append(("conv\(block).bias", [filters]))
            for part in ["weight", "bias", "running_mean", "running_var"] { shapes.append(("bn\(block).\(part)", [filters])) }
        }
        shapes.append(("fc1.weight", [Self.hiddenUnits, Self.filters.last!]))
        shapes.append(("fc1.bias", [Self.hiddenUnits]))
        shapes.append(("fc2.weight", [1, Self.hiddenUnits]))
        shapes.append(("fc2.bias", [1]))
        return shapes
    }

    /// Parameters as Keras counts them (running statistics included): 1,352,897 for the seed.
    public var parameterCount: Int { parameterShapes.reduce(0) { $0 + $1.shape.reduce(1, *) } }
}
