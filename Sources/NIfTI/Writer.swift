import Zlib

/// Encodes volumes as single-file NIfTI bytes (`.nii`, or `.nii.gz` with `compressed`).
/// Pure: the caller writes the bytes (atomically) where it wants.
public enum NIfTIWriter {
    /// A header for a plain volume: the given shape, datatype and spacing, no scaling, data right
    /// after the header, qform and sform left unset unless the caller fills them in.
    public static func header(shape: (nx: Int, ny: Int, nz: Int), datatype: Datatype,
                              spacing: (x: Double, y: Double, z: Double) = (1, 1, 1),
                              version: NIfTIVersion = .nifti1, byteOrder: ByteOrder = .little) -> Header {
        Header(version: version, byteOrder: byteOrder, magic: version == .nifti1 ? "n+1\\0" : "n+2\\0\\x0d\\x0a\\x1a\\x0a",
               dim: [3, shape.nx, shape.ny, shape.nz, 1, 1, 1, 1],
               datatypeCode: datatype.rawValue, bitpix: datatype.bitsPerVoxel,
               pixdim: [1, spacing.x, spacing.y, spacing.z, 0, 0, 0, 0],
               voxOffset: Double(version.minimumVoxOffset), sclSlope: 1, sclInter: 0,
               qformCode: 0, sformCode: 0, quaternion: [0, 0, 0], qoffset: [0, 0, 0],
               srow: [[0, 0, 0, 0], [0, 0, 0, 0], [0, 0, 0, 0]],
               xyztUnits: 2 /* mm */, intentCode: 0, description: "ctd")
    }

    /// The whole file: header, a zero extension flag, padding up to `vox_offset`, then `rawData`
    /// (already in the header's datatype and byte order), gzip-compressed if asked.
    public static func encode(header: Header, rawData: [UInt8], compressed: Bool, level: Int32 = 6) throws(ZlibError) -> [UInt8] {
        var bytes = header.encode()
        let dataStart = max(Int(header.voxOffset), header.version.minimumVoxOffset)
        bytes += [UInt8](repeating: 0, count: dataStart - bytes.count)
        bytes += rawData
        return compressed ? try Deflate.compress(bytes, wrapper: .gzip, level: level) : bytes
    }

    /// Values as raw bytes in the given byte order, for `encode`.
    public static func rawBytes<T: FixedWidthInteger>(_ values: [T], byteOrder: ByteOrder = .little) -> [UInt8] {
        let ordered = byteOrder == .big ? values.map { $0.bigEndian } : values.map { $0.littleEndian }
        return ordered.withUnsafeBytes { Array($0) }
    }

    /// Float32 values as raw bytes in the given byte order.
    public static func rawBytes(_ values: [Float], byteOrder: ByteOrder = .little) -> [UInt8] {
        rawBytes(values.map { $0.bitPattern }, byteOrder: byteOrder)
    }

    /// Float64 values as raw bytes in the given byte order.
    public static func rawBytes(_ values: [Double], byteOrder: ByteOrder = .little) -> [UInt8] {
        rawBytes(values.map { $0.bitPattern }, byteOrder: byteOrder)
    }
}
