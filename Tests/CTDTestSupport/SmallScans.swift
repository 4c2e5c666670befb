import Preprocess
import NIfTI

/// Small synthetic volumes for fast training tests: a dark "lung" ellipsoid in a body of soft
/// tissue with noise; abnormal ones add a hazy bright blob inside the lung (a ground-glass
/// opacity). Values already in [0, 1], as preprocessing leaves them.
public enum SmallScans {
    /// `grid` with air (0) around the body: the outer `margin` voxels of every slice in x and y.
    public static func gridInAir(index: Int, abnormal: Bool, size: Int = 48, margin: Int = 3) -> VoxelGrid {
        var grid = grid(index: index, abnormal: abnormal, size: size)
        for z in 0..<size { for y in 0..<size { for x in 0..<size where min(x, y, size - 1 - x, size - 1 - y) < margin {
            grid.values[x + size * (y + size * z)] = 0
        } } }
        return grid
    }

    public static func grid(index: Int, abnormal: Bool, size: Int = 48) -> VoxelGrid {
        var state = UInt64(index * 2 + (abnormal ? 1 : 0)) &* 0x9E37_79B9_7F4A_7C15 &+ 1
        func next() -> Double {
            state ^= state << 13; state ^= state >> 7; state ^= state << 17
            return Double(state >> 11) / Double(1 << 53)
        }
        let n = Double(size)
        let blob = (x: n * (0.35 + 0.3 * next()), y: n * (0.35 + 0.3 * next()), z: n * (0.3 + 0.4 * next()), r: n * (0.1 + 0.06 * next()))
        var values = [Float](repeating: 0, count: size * size * size)
        for z in 0..<size { for y in 0..<size { for x in 0..<size {
            let (dx, dy, dz) = ((Double(x) - n / 2) / (n * 0.4), (Double(y) - n / 2) / (n * 0.35), (Double(z) - n / 2) / (n * 0.45))
            var value = dx * dx + dy * dy + dz * dz < 1 ? 0.11 : 0.72
            if abnormal {
                let d = ((Double(x) - blob.x) * (Double(x) - blob.x) + (Double(y) - blob.y) * (Double(y) - blob.y) + (Double(z) - blob.z) * (Double(z) - blob.z)).squareRoot()
                if d < blob.r { value = max(value, 0.35) }
            }
            values[x + size * (y + size * z)] = Float(min(1, max(0, value + 0.04 * (next() - 0.5))))
        } } }
        return VoxelGrid(nx: size, ny: size, nz: size, values: values)
    }

    /// The same volume as an int16 HU `.nii` file (value 0…1 mapped back through the seed window),
    /// for tests that go through the file reader.
    public static func niftiBytes(index: Int, abnormal: Bool, size: Int = 48) throws -> [UInt8] {
        let grid = grid(index: index, abnormal: abnormal, size: size)
        let hu = grid.values.map { Int16(($0 * 1400 - 1000).rounded()) }
        return try NIfTIWriter.encode(header: NIfTIWriter.header(shape: (size, size, size), datatype: .int16),
                                      rawData: NIfTIWriter.rawBytes(hu), compressed: true, level: 1)
    }
}
