/// NumPy `.npy` (format 1.0) encoding and decoding of float32 volumes, so preprocessed tensors open
/// with `numpy.load` and reference outputs from Python can be compared without Python.
public enum NumPyFile {
    public struct FormatError: Error, CustomStringConvertible, Equatable {
        public let reason: String
        public var description: String { "not a readable .npy file: \(reason)" }
    }

    /// A grid as `.npy` bytes of shape (nx, ny, nz), little-endian float32, Fortran order (which is
    /// the grid's own x-fastest order, so no copy is reordered).
    public static func encode(_ grid: VoxelGrid) -> [UInt8] {
        let dict = "{'descr': '<f4', 'fortran_order': True, 'shape': (\(grid.nx), \(grid.ny), \(grid.nz)), }"
        var header = Array(dict.utf8)
        // magic(6) + version(2) + length(2) + header + "\n" is padded to a multiple of 64.
        let unpadded = 10 + header.count + 1
        header += [UInt8](repeating: 0x20, count: (64 - unpadded % 64) % 64) + [0x0a]
        var bytes: [UInt8] = [0x93] + Array("NUMPY".utf8) + [1, 0, UInt8(header.count & 0xff), UInt8(header.count >> 8)]
        bytes += header
        #if _endian(little)
        grid.values.withUnsafeBytes { bytes += $0 }
        #else
        for value in grid.values { withUnsafeBytes(of: value.bitPattern.littleEndian) { bytes += $0 } }
        #endif
        return bytes
    }

    /// A 3-D little-endian float32 or float64 array, C or Fortran order, as a grid in x-fastest
    /// order (axis 0 = x), plus the exact values as Double (float64 files keep their precision there).
    public static func decode(_ bytes: [UInt8]) throws(FormatError) -> (grid: VoxelGrid, doubles: [Double]) {
        guard bytes.count >= 10, bytes[0] == 0x93, Array(bytes[1..<6]) == Array("NUMPY".utf8) else {
            throw FormatError(reason: "missing magic")
        }
        let major = bytes[6]
        let headerLength: Int
        let headerStart: Int
        switch major {
        case 1: headerLength = Int(bytes[8]) | Int(bytes[9]) << 8; headerStart = 10
        case 2, 3:
            guard bytes.count >= 12 else { throw FormatError(reason: "short header") }
            headerLength = (0..<4).reduce(0) { $0 | Int(bytes[8 + $1]) << (8 * $1) }; headerStart = 12
        default: throw FormatError(reason: "unknown version \(major)")
        }
        guard headerStart + headerLength <= bytes.count else { throw FormatError(reason: "header runs past the end") }
        let dict = String(decoding: bytes[headerStart..<headerStart + headerLength], as: UTF8.self)
        let width: Int
        if dict.contains("'<f4'") { width = 4 } else if dict.contains("'<f8'") { width = 8 } else {
            throw FormatError(reason: "only little-endian float32/float64 are supported")
        }
        let fortran = dict.contains("'fortran_order': True")
        guard let open = dict.firstIndex(of: "("), let close = dict[open...].firstIndex(of: ")") else {
            throw FormatError(reason: "no shape")
        }
        let shape = dict[dict.index(after: open)..<close].split(separator: ",").compactMap { Int($0.trimmingCharacters(in: " ")) }
        guard shape.count == 3, shape.allSatisfy({ $0 > 0 }) else { throw FormatError(reason: "shape is not 3-D") }
        let count = shape[0] * shape[1] * shape[2]
        let dataStart = headerStart + headerLength
        guard bytes.count - dataStart == count * width else { throw FormatError(reason: "data size does not match shape") }
        var doubles = [Double](repeating: 0, count: count)
        for flat in 0..<count {
            var bits: UInt64 = 0
            for byte in 0..<width { bits |= UInt64(bytes[dataStart + flat * width + byte]) << (8 * byte) }
            let value = width == 4 ? Double(Float(bitPattern: UInt32(bits))) : Double(bitPattern: bits)
            // Reorder C-order data (z fastest) into x-fastest order.
            let target: Int
            if fortran { target = flat } else {
                let z = flat % shape[2], y = (flat / shape[2]) % shape[1], x = flat / (shape[1] * shape[2])
                target = x + shape[0] * (y + shape[1] * z)
            }
            doubles[target] = value
        }
        return (VoxelGrid(nx: shape[0], ny: shape[1], nz: shape[2], values: doubles.map { Float($0) }), doubles)
    }
}

private extension StringProtocol {
    func trimmingCharacters(in set: String) -> String {
        String(self.drop { set.contains($0) }.reversed().drop { set.contains($0) }.reversed())
    }
}
