/// A shard's bytes: a NumPy `.npy` (format 1.0) array of float32 [n, 1, X, Y, Z], little-endian,
/// C order, so `numpy.load(path, mmap_mode="r")[row]` is one scan without reading the others.
public enum ShardFile {
    /// - Precondition: every row holds `x · y · z` values.
    public static func encode(rows: [[Float]], x: Int, y: Int, z: Int) -> [UInt8] {
        let sample = x * y * z
        precondition(rows.allSatisfy { $0.count == sample }, "ShardFile.encode: every row must hold x * y * z values")
        var bytes = header(count: rows.count, x: x, y: y, z: z)
        bytes.reserveCapacity(bytes.count + rows.count * sample * 4)
        for row in rows {
            #if _endian(little)
            row.withUnsafeBytes { bytes += $0 }
            #else
            for value in row { withUnsafeBytes(of: value.bitPattern.littleEndian) { bytes += $0 } }
            #endif
        }
        return bytes
    }

    static func header(count: Int, x: Int, y: Int, z: Int) -> [UInt8] {
        var dict = Array("{'descr': '<f4', 'fortran_order': False, 'shape': (\(count), 1, \(x), \(y), \(z)), }".utf8)
        // magic(6) + version(2) + length(2) + dict + "\n", padded to a multiple of 64 (NumPy's alignment).
        let unpadded = 10 + dict.count + 1
        dict += [UInt8](repeating: 0x20, count: (64 - unpadded % 64) % 64) + [0x0a]
        return [0x93] + Array("NUMPY".utf8) + [1, 0, UInt8(dict.count & 0xff), UInt8(dict.count >> 8)] + dict
    }

    /// The rows of a shard this module wrote, checked against the expected sample shape; anything
    /// else (another header, a size that does not match) is refused with the reason.
    public static func decodeRows(_ bytes: [UInt8], x: Int, y: Int, z: Int) throws(ExportError) -> [[Float]] {
        guard bytes.count >= 10, bytes[0] == 0x93, Array(bytes[1..<6]) == Array("NUMPY".utf8), bytes[6] == 1 else {
            throw ExportError("shard", "not a .npy file of format 1.0")
        }
        let headerEnd = 10 + (Int(bytes[8]) | Int(bytes[9]) << 8)
        guard headerEnd <= bytes.count else { throw ExportError("shard", "header runs past the end") }
        let dict = String(decoding: bytes[10..<headerEnd], as: UTF8.self)
        guard dict.contains("'descr': '<f4'"), dict.contains("'fortran_order': False"),
              let open = dict.firstIndex(of: "("), let close = dict[open...].firstIndex(of: ")") else {
            throw ExportError("shard", "not a C-order float32 array")
        }
        let shape = dict[dict.index(after: open)..<close].split(separator: ",").map { Int($0.filter { $0 != " " }) }
        guard shape.count == 5, let count = shape[0], shape.dropFirst().map({ $0 ?? -1 }) == [1, x, y, z] else {
            throw ExportError("shard", "shape is not [n, 1, \(x), \(y), \(z)]")
        }
        let sample = x * y * z
        // The count is a stranger's number: compared by division, so no product can overflow.
        guard count >= 0, sample > 0, (bytes.count - headerEnd) % (sample * 4) == 0, (bytes.count - headerEnd) / (sample * 4) == count else {
            throw ExportError("shard", "data size does not match its shape")
        }
        return (0..<count).map { row in
            let start = headerEnd + row * sample * 4
            return [Float](unsafeUninitializedCapacity: sample) { out, initialised in
                bytes.withUnsafeBytes { raw in
                    for i in 0..<sample { out[i] = Float(bitPattern: UInt32(littleEndian: raw.loadUnaligned(fromByteOffset: start + i * 4, as: UInt32.self))) }
                }
                initialised = sample
            }
        }
    }
}
