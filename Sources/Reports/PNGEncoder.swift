import Zlib

/// Encodes 8-bit grayscale or RGB pixels as a PNG file (ISO/IEC 15948), in memory.
///
/// The output holds the signature, IHDR, one or more IDAT chunks (a single zlib stream split into pieces
/// of at most `idatPieceSize` bytes) and IEND, each with its CRC-32. No ancillary chunks: the pictures
/// carry no gamma or colour-profile claims, so viewers show the bytes as sRGB.
public enum PNGEncoder {
    /// The largest width or height accepted. Far above any picture ctd draws; it stops a bad caller
    /// from asking for gigabytes.
    public static let maxSide = 16_384

    /// The pixel layout: how many bytes one pixel takes, and the IHDR colour type that says so.
    public enum ColorType: UInt8, Sendable {
        /// One byte per pixel, 0 = black.
        case grayscale = 0
        /// Three bytes per pixel, red then green then blue.
        case rgb = 2

        /// Bytes per pixel.
        public var channels: Int { self == .grayscale ? 1 : 3 }
    }

    /// How each row is filtered before compression.
    public enum RowFilter: Sendable {
        /// Filter type 0 on every row: the inflated IDAT is the pixels with a zero before each row.
        case none
        /// Per row, the filter (0–4) whose output has the smallest sum of absolute signed bytes:
        /// libpng's heuristic, which makes flat areas and gradients compress well.
        case adaptive
    }

    /// IDAT pieces are cut at this size; decoders concatenate them, and small pieces keep any one
    /// chunk's length far from the 2^31 limit.
    static let idatPieceSize = 1 << 16

    /// The eight bytes every PNG starts with.
    public static let signature: [UInt8] = [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]

    /// Returns the PNG file for `pixels`, stored row by row from the top, `colorType.channels` bytes a pixel.
    ///
    /// - Throws: `.badImageSize` unless both sides are in 1…`maxSide`; `.pixelCountMismatch` unless
    ///   `pixels.count == width × height × channels`; `.compressionFailed` if zlib runs out of memory.
    public static func encode(
        pixels: [UInt8], width: Int, height: Int, colorType: ColorType, rowFilter: RowFilter = .adaptive
    ) throws(ReportsError) -> [UInt8] {
        guard (1...maxSide).contains(width), (1...maxSide).contains(height) else {
            throw .badImageSize(width: width, height: height, limit: maxSide)
        }
        let expected = width * height * colorType.channels
        guard pixels.count == expected else { throw .pixelCountMismatch(expected: expected, actual: pixels.count) }

        let filtered = filterRows(pixels, width: width, height: height, channels: colorType.channels, rowFilter)
        let stream: [UInt8]
        do { stream = try Deflate.compress(filtered, wrapper: .zlib) } catch { throw .compressionFailed(error) }

        var header: [UInt8] = []
        header.appendBigEndian(UInt32(width))
        header.appendBigEndian(UInt32(height))
        // Bit depth 8, colour type, compression 0 (deflate), filter method 0, no interlace.
        header += [8, colorType.rawValue, 0, 0, 0]

        var file = signature
        file.reserveCapacity(signature.count + 25 + stream.count + 12 * (stream.count / idatPieceSize + 2))
        appendChunk("IHDR", header, to: &file)
        var start = 0
        repeat {
            let end = min(start + idatPieceSize, stream.count)
            appendChunk("IDAT", stream[start..<end], to: &file)
            start = end
        } while start < stream.count
        appendChunk("IEND", [], to: &file)
        return file
    }

    /// Length, type, data, then the CRC of type + data (the length is not covered).
    private static func appendChunk(_ type: String, _ data: some Collection<UInt8>, to file: inout [UInt8]) {
        let typeAndData = Array(type.utf8) + data
        file.appendBigEndian(UInt32(data.count))
        file += typeAndData
        file.appendBigEndian(crc32(typeAndData))
    }

    // MARK: Row filters

    /// Each output row is one filter-type byte followed by the filtered row (PNG §9).
    static func filterRows(
        _ pixels: [UInt8], width: Int, height: Int, channels: Int, _ rowFilter: RowFilter
    ) -> [UInt8] {
        let stride = width * channels
        var out = [UInt8](repeating: 0, count: height * (stride + 1))
        // The row above the first is all zeros.
        let zeros = [UInt8](repeating: 0, count: stride)
        var candidate = [UInt8](repeating: 0, count: stride)
        pixels.withUnsafeBufferPointer { src in
            zeros.withUnsafeBufferPointer { zeroRow in
                out.withUnsafeMutableBufferPointer { dst in
                    candidate.withUnsafeMutableBufferPointer { scratch in
                        for y in 0..<height {
                            let row = UnsafeBufferPointer(rebasing: src[(y * stride)..<((y + 1) * stride)])
                            let prior = y > 0 ? UnsafeBufferPointer(rebasing: src[((y - 1) * stride)..<(y * stride)]) : zeroRow
                            let rowStart = y * (stride + 1)
                            var best: UInt8 = 0
                            if rowFilter == .adaptive {
                                var bestCost = Int.max
                                for type: UInt8 in 0...4 {
                                    apply(type, row: row, prior: prior, bpp: channels, into: scratch)
                                    let cost = signedSum(UnsafeBufferPointer(scratch))
                                    if cost < bestCost { bestCost = cost; best = type }
                                }
                            }
                            dst[rowStart] = best
                            apply(best, row: row, prior: prior, bpp: channels,
                                  into: UnsafeMutableBufferPointer(rebasing: dst[(rowStart + 1)..<(rowStart + 1 + stride)]))
                        }
                    }
                }
            }
        }
        return out
    }

    /// Writes `row` filtered with `type` (0 none, 1 sub, 2 up, 3 average, 4 Paeth) into `out`.
    /// One loop per type rather than a switch per byte: this runs five times per row.
    private static func apply(
        _ type: UInt8, row: UnsafeBufferPointer<UInt8>, prior: UnsafeBufferPointer<UInt8>, bpp: Int,
        into out: UnsafeMutableBufferPointer<UInt8>
    ) {
        let n = row.count
        let head = min(bpp, n)  // the first pixel has no left neighbour (a = c = 0)
        switch type {
        case 0:
            for i in 0..<n { out[i] = row[i] }
        case 1:
            for i in 0..<head { out[i] = row[i] }
            for i in head..<n { out[i] = row[i] &- row[i - bpp] }
        case 2:
            for i in 0..<n { out[i] = row[i] &- prior[i] }
        case 3:
            for i in 0..<head { out[i] = row[i] &- prior[i] / 2 }
            for i in head..<n { out[i] = row[i] &- UInt8((UInt16(row[i - bpp]) + UInt16(prior[i])) / 2) }
        default:
            for i in 0..<head { out[i] = row[i] &- prior[i] }  // Paeth(0, b, 0) = b
            for i in head..<n { out[i] = row[i] &- paeth(row[i - bpp], prior[i], prior[i - bpp]) }
        }
    }

    /// The adaptive choice's cost: the sum of the bytes read as signed, in absolute value.
    private static func signedSum(_ bytes: UnsafeBufferPointer<UInt8>) -> Int {
        var sum = 0
        for byte in bytes { sum += Int(byte < 128 ? byte : 0 &- byte) }
        return sum
    }

    /// PNG's Paeth predictor: whichever of left, above, above-left is closest to left + above − above-left.
    static func paeth(_ a: UInt8, _ b: UInt8, _ c: UInt8) -> UInt8 {
        let p = Int(a) + Int(b) - Int(c)
        let pa = abs(p - Int(a)), pb = abs(p - Int(b)), pc = abs(p - Int(c))
        if pa <= pb && pa <= pc { return a }
        return pb <= pc ? b : c
    }
}

extension [UInt8] {
    mutating func appendBigEndian(_ value: UInt32) {
        append(contentsOf: [UInt8(value >> 24), UInt8((value >> 16) & 0xFF), UInt8((value >> 8) & 0xFF), UInt8(value & 0xFF)])
    }
}
