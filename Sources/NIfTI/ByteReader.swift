/// Reads fixed-width numbers at byte offsets of a header, in the file's byte order.
/// Offsets are checked by the caller (the header is at least as long as its version needs).
struct ByteReader {
    let bytes: [UInt8]
    let bigEndian: Bool

    func u32(_ offset: Int) -> UInt32 {
        var value: UInt32 = 0
        for index in 0..<4 { value |= UInt32(bytes[offset + index]) << (8 * index) }
        return bigEndian ? value.byteSwapped : value
    }

    func u64(_ offset: Int) -> UInt64 {
        var value: UInt64 = 0
        for index in 0..<8 { value |= UInt64(bytes[offset + index]) << (8 * index) }
        return bigEndian ? value.byteSwapped : value
    }

    func i16(_ offset: Int) -> Int {
        let value = UInt16(bytes[offset]) | UInt16(bytes[offset + 1]) << 8
        return Int(Int16(bitPattern: bigEndian ? value.byteSwapped : value))
    }

    func i32(_ offset: Int) -> Int { Int(Int32(bitPattern: u32(offset))) }
    func i64(_ offset: Int) -> Int64 { Int64(bitPattern: u64(offset)) }
    func f32(_ offset: Int) -> Double { Double(Float(bitPattern: u32(offset))) }
    func f64(_ offset: Int) -> Double { Double(bitPattern: u64(offset)) }

    /// A NUL-terminated text field, with non-printable bytes dropped.
    func text(_ offset: Int, length: Int) -> String {
        let field = bytes[offset..<offset + length].prefix { $0 != 0 }
        return String(decoding: field.filter { $0 >= 0x20 && $0 < 0x7f }, as: UTF8.self)
    }
}

/// Writes fixed-width numbers into a header buffer, little- or big-endian.
struct ByteWriter {
    var bytes: [UInt8]
    let bigEndian: Bool

    init(count: Int, bigEndian: Bool) {
        bytes = [UInt8](repeating: 0, count: count)
        self.bigEndian = bigEndian
    }

    mutating func put<T: FixedWidthInteger>(_ value: T, at offset: Int) {
        let ordered = bigEndian ? value.bigEndian : value.littleEndian
        withUnsafeBytes(of: ordered) { raw in
            for (index, byte) in raw.enumerated() { bytes[offset + index] = byte }
        }
    }

    mutating func putF32(_ value: Double, at offset: Int) { put(Float(value).bitPattern, at: offset) }
    mutating func putF64(_ value: Double, at offset: Int) { put(value.bitPattern, at: offset) }

    mutating func putText(_ text: String, at offset: Int, length: Int) {
        for (index, byte) in text.utf8.prefix(length - 1).enumerated() { bytes[offset + index] = byte }
    }
}
