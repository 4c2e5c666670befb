/// The NIfTI version a file uses: it fixes the header length and the width of every field.
public enum NIfTIVersion: Int, Sendable, Codable {
    case nifti1 = 1
    case nifti2 = 2

    /// `sizeof_hdr`: the header's length in bytes.
    public var headerSize: Int { self == .nifti1 ? 348 : 540 }
    /// The smallest legal `vox_offset` of a single-file (`n+1`/`n+2`) image: header plus the 4-byte extension flag.
    public var minimumVoxOffset: Int { headerSize + 4 }
}

public enum ByteOrder: String, Sendable, Codable {
    case little, big
}

/// A decoded NIfTI-1 or NIfTI-2 header: every field the project uses, widened to one form
/// (NIfTI-1's float32 and int16 fields become Double and Int exactly).
public struct Header: Sendable, Equatable {
    public var version: NIfTIVersion
    public var byteOrder: ByteOrder
    /// The magic string as found (e.g. "n+1"), for messages.
    public var magic: String
    /// `dim[0...7]`; `dim[0]` is the number of dimensions in use.
    public var dim: [Int]
    public var datatypeCode: Int
    public var bitpix: Int
    /// `pixdim[0...7]`; `pixdim[0]` is qfac, `pixdim[1...3]` the voxel spacing.
    public var pixdim: [Double]
    /// Where voxel data starts, in bytes from the start of the (decompressed) file.
    public var voxOffset: Double
    public var sclSlope: Double
    public var sclInter: Double
    public var qformCode: Int
    public var sformCode: Int
    /// quatern_b, quatern_c, quatern_d.
    public var quaternion: [Double]
    /// qoffset_x, qoffset_y, qoffset_z.
    public var qoffset: [Double]
    /// srow_x, srow_y, srow_z: the sform affine's three rows.
    public var srow: [[Double]]
    public var xyztUnits: Int
    public var intentCode: Int
    public var description: String

    /// The datatype, if the code is one the standard names.
    public var datatype: Datatype? { Datatype(rawValue: datatypeCode) }
}

/// Field offsets of the two header layouts (nifti1.h and nifti2.h).
enum Layout {
    enum V1 {
        static let dim = 40, datatype = 70, bitpix = 72, pixdim = 76, voxOffset = 108
        static let sclSlope = 112, sclInter = 116, xyztUnits = 123, descrip = 148
        static let qformCode = 252, sformCode = 254, quatern = 256, qoffset = 268, srow = 280
        static let intentCode = 68, magic = 344
    }

    enum V2 {
        static let magic = 4, datatype = 12, bitpix = 14, dim = 16, pixdim = 104, voxOffset = 168
        static let sclSlope = 176, sclInter = 184, descrip = 240, qformCode = 344, sformCode = 348
        static let quatern = 352, qoffset = 376, srow = 400, xyztUnits = 500, intentCode = 504
    }
}

extension Header {
    /// Decodes a header from the first bytes of a (decompressed) file.
    ///
    /// Only the first check happens here — `sizeof_hdr`, which also gives the version and byte
    /// order; every other rule is in `HeaderChecks`. Throws the `sizeof_hdr` problem.
    public static func decode(_ prefix: [UInt8]) throws(HeaderProblem) -> Header {
        guard prefix.count >= 4 else {
            throw HeaderProblem.tooShort("\(prefix.count) bytes, too short for a NIfTI header (348 bytes or more)")
        }
        guard let (version, bigEndian) = sizeofHeaderRule(prefix) else {
            let little = ByteReader(bytes: prefix, bigEndian: false).i32(0)
            throw HeaderProblem(check: .sizeofHeader, message: "not a NIfTI file: sizeof_hdr is \(little) (expected 348 for NIfTI-1 or 540 for NIfTI-2)")
        }
        guard prefix.count >= version.headerSize else {
            throw HeaderProblem.tooShort("\(prefix.count) bytes, shorter than its NIfTI-\(version.rawValue) header (\(version.headerSize) bytes)")
        }
        let reader = ByteReader(bytes: prefix, bigEndian: bigEndian)
        let order: ByteOrder = bigEndian ? .big : .little
        switch version {
        case .nifti1: return decodeV1(reader, order: order)
        case .nifti2: return decodeV2(reader, order: order)
        }
    }

    /// The version `sizeof_hdr` announces (needs 4 bytes), or nil when it is neither 348 nor 540.
    public static func sizeofHeaderVersion(_ prefix: [UInt8]) -> NIfTIVersion? {
        sizeofHeaderRule(prefix)?.version
    }

    /// `sizeof_hdr` read in both byte orders: the one that gives 348 or 540 is the file's.
    private static func sizeofHeaderRule(_ prefix: [UInt8]) -> (version: NIfTIVersion, bigEndian: Bool)? {
        let little = ByteReader(bytes: prefix, bigEndian: false).i32(0)
        let big = ByteReader(bytes: prefix, bigEndian: true).i32(0)
        switch (little, big) {
        case (348, _): return (.nifti1, false)
        case (540, _): return (.nifti2, false)
        case (_, 348): return (.nifti1, true)
        case (_, 540): return (.nifti2, true)
        default: return nil
        }
    }

    private static func decodeV1(_ r: ByteReader, order: ByteOrder) -> Header {
        typealias L = Layout.V1
        return Header(
            version: .nifti1, byteOrder: order,
            magic: magicText(r.bytes[L.magic..<L.magic + 4]),
            dim: (0..<8).map { r.i16(L.dim + 2 * $0) },
            datatypeCode: r.i16(L.datatype), bitpix: r.i16(L.bitpix),
            pixdim: (0..<8).map { r.f32(L.pixdim + 4 * $0) },
            voxOffset: r.f32(L.voxOffset), sclSlope: r.f32(L.sclSlope), sclInter: r.f32(L.sclInter),
            qformCode: r.i16(L.qformCode), sformCode: r.i16(L.sformCode),
            quaternion: (0..<3).map { r.f32(L.quatern + 4 * $0) },
            qoffset: (0..<3).map { r.f32(L.qoffset + 4 * $0) },
            srow: (0..<3).map { row in (0..<4).map { r.f32(L.srow + 16 * row + 4 * $0) } },
            xyztUnits: Int(r.bytes[L.xyztUnits]), intentCode: r.i16(L.intentCode),
            description: r.text(L.descrip, length: 80))
    }

    private static func decodeV2(_ r: ByteReader, order: ByteOrder) -> Header {
        typealias L = Layout.V2
        // 64-bit dims beyond Int's range cannot be real; clamp so the dims check reports them.
        let dims = (0..<8).map { Int(clamping: r.i64(L.dim + 8 * $0)) }
        return Header(
            version: .nifti2, byteOrder: order,
            magic: magicText(r.bytes[L.magic..<L.magic + 8]),
            dim: dims,
            datatypeCode: r.i16(L.datatype), bitpix: r.i16(L.bitpix),
            pixdim: (0..<8).map { r.f64(L.pixdim + 8 * $0) },
            voxOffset: Double(r.i64(L.voxOffset)), sclSlope: r.f64(L.sclSlope), sclInter: r.f64(L.sclInter),
            qformCode: r.i32(L.qformCode), sformCode: r.i32(L.sformCode),
            quaternion: (0..<3).map { r.f64(L.quatern + 8 * $0) },
            qoffset: (0..<3).map { r.f64(L.qoffset + 8 * $0) },
            srow: (0..<3).map { row in (0..<4).map { r.f64(L.srow + 32 * row + 8 * $0) } },
            xyztUnits: r.i32(L.xyztUnits), intentCode: r.i32(L.intentCode),
            description: r.text(L.descrip, length: 80))
    }

    /// The magic field shown readably: printable characters as they are, others as \xNN.
    private static func magicText(_ bytes: ArraySlice<UInt8>) -> String {
        bytes.map { byte -> String in
            if byte == 0 { return "\\0" }
            if byte >= 0x20 && byte < 0x7f { return String(UnicodeScalar(byte)) }
            let hex = String(byte, radix: 16)
            return "\\x" + (hex.count == 1 ? "0" + hex : hex)
        }.joined()
    }

    /// Encodes this header as a single-file NIfTI (`n+1`/`n+2`) header of `version.headerSize` bytes.
    public func encode() -> [UInt8] {
        var w = ByteWriter(count: version.headerSize, bigEndian: byteOrder == .big)
        switch version {
        case .nifti1:
            typealias L = Layout.V1
            w.put(Int32(348), at: 0)
            for (index, value) in dim.enumerated() { w.put(Int16(value), at: L.dim + 2 * index) }
            w.put(Int16(datatypeCode), at: L.datatype)
            w.put(Int16(bitpix), at: L.bitpix)
            for (index, value) in pixdim.enumerated() { w.putF32(value, at: L.pixdim + 4 * index) }
            w.putF32(voxOffset, at: L.voxOffset)
            w.putF32(sclSlope, at: L.sclSlope)
            w.putF32(sclInter, at: L.sclInter)
            w.put(UInt8(truncatingIfNeeded: xyztUnits), at: L.xyztUnits)
            w.putText(description, at: L.descrip, length: 80)
            w.put(Int16(qformCode), at: L.qformCode)
            w.put(Int16(sformCode), at: L.sformCode)
            for (index, value) in quaternion.enumerated() { w.putF32(value, at: L.quatern + 4 * index) }
            for (index, value) in qoffset.enumerated() { w.putF32(value, at: L.qoffset + 4 * index) }
            for (row, values) in srow.enumerated() {
                for (index, value) in values.enumerated() { w.putF32(value, at: L.srow + 16 * row + 4 * index) }
            }
            w.put(Int16(intentCode), at: L.intentCode)
            for (index, byte) in Array("n+1\0".utf8).enumerated() { w.bytes[L.magic + index] = byte }
        case .nifti2:
            typealias L = Layout.V2
            w.put(Int32(540), at: 0)
            for (index, byte) in [0x6e, 0x2b, 0x32, 0x00, 0x0d, 0x0a, 0x1a, 0x0a].enumerated() { w.bytes[L.magic + index] = UInt8(byte) }
            w.put(Int16(datatypeCode), at: L.datatype)
            w.put(Int16(bitpix), at: L.bitpix)
            for (index, value) in dim.enumerated() { w.put(Int64(value), at: L.dim + 8 * index) }
            for (index, value) in pixdim.enumerated() { w.putF64(value, at: L.pixdim + 8 * index) }
            w.put(Int64(voxOffset), at: L.voxOffset)
            w.putF64(sclSlope, at: L.sclSlope)
            w.putF64(sclInter, at: L.sclInter)
            w.putText(description, at: L.descrip, length: 80)
            w.put(Int32(qformCode), at: L.qformCode)
            w.put(Int32(sformCode), at: L.sformCode)
            for (index, value) in quaternion.enumerated() { w.putF64(value, at: L.quatern + 8 * index) }
            for (index, value) in qoffset.enumerated() { w.putF64(value, at: L.qoffset + 8 * index) }
            for (row, values) in srow.enumerated() {
                for (index, value) in values.enumerated() { w.putF64(value, at: L.srow + 32 * row + 8 * index) }
            }
            w.put(Int32(xyztUnits), at: L.xyztUnits)
            w.put(Int32(intentCode), at: L.intentCode)
        }
        return w.bytes
    }
}
