/// A float32 volume stored x-fastest (index = x + nx·(y + ny·z)), the file's (i, j, k) order.
public struct VoxelGrid: Sendable, Equatable {
    public let nx: Int
    public let ny: Int
    public let nz: Int
    public var values: [Float]

    /// - Precondition: `values.count == nx * ny * nz`.
    public init(nx: Int, ny: Int, nz: Int, values: [Float]) {
        precondition(nx > 0 && ny > 0 && nz > 0 && values.count == nx * ny * nz, "VoxelGrid: \(values.count) values for \(nx)×\(ny)×\(nz)")
        self.nx = nx
        self.ny = ny
        self.nz = nz
        self.values = values
    }

    public subscript(x: Int, y: Int, z: Int) -> Float {
        values[x + nx * (y + ny * z)]
    }
}
