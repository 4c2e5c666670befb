import CZlib

/// A deliberately naive PNG reader, written from the spec, so the encoder is checked against something
/// other than itself: its own bitwise CRC-32, zlib's one-shot `uncompress`, and the five row filters undone
/// one byte at a time.
struct PNGReader {
    struct Chunk {
        let type: String
        let data: [UInt8]
        let storedCRC: UInt32
        let computedCRC: UInt32
    }

    struct Failure: Error, CustomStringConvertible {
        let description: String
    }

    let chunks: [Chunk]
    let width: Int
    let height: Int
    let bitDepth: UInt8
    let colorType: UInt8
    let compression: UInt8
    let filterMethod: UInt8
    let interlace: UInt8
    /// The inflated IDAT stream: a filter byte then the filtered row, per row.
    let inflated: [UInt8]
    /// The reconstructed pixels, row-major, `channels` bytes a pixel.
    let pixels: [UInt8]

    var channels: Int { colorType == 2 ? 3 : 1 }

    init(_ file: [UInt8]) throws {
        let signature: [UInt8] = [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]
        guard file.count >= 8, Array(file[0..<8]) == signature else { throw Failure(description: "bad signature") }
        var chunks: [Chunk] = []
        var at = 8
        while at < file.count {
            guard at + 12 <= file.count else { throw Failure(description: "truncated chunk header at \(at)") }
            let length = Int(PNGReader.bigEndian(file, at))
            guard at + 12 + length <= file.count else { throw Failure(description: "truncated chunk at \(at)") }
            let typeAndData = Array(file[(at + 4)..<(at + 8 + length)])
            chunks.append(Chunk(type: String(decoding: typeAndData[0..<4], as: UTF8.self),
                                data: Array(typeAndData[4...]),
                                storedCRC: PNGReader.bigEndian(file, at + 8 + length),
                                computedCRC: PNGReader.crc(typeAndData)))
            at += 12 + length
        }
        self.chunks = chunks
        guard let header = chunks.first, header.type == "IHDR", header.data.count == 13 else {
            throw Failure(description: "first chunk is not a 13-byte IHDR")
        }
        width = Int(PNGReader.bigEndian(header.data, 0))
        height = Int(PNGReader.bigEndian(header.data, 4))
        (bitDepth, colorType, compression, filterMethod, interlace) =
            (header.data[8], header.data[9], header.data[10], header.data[11], header.data[12])

        let stream = chunks.filter { $0.type == "IDAT" }.flatMap(\.data)
        let stride = width * (colorType == 2 ? 3 : 1)
        let expected = height * (1 + stride)
        // One spare byte: if the stream inflates to more than expected, uncompress reports Z_BUF_ERROR.
        var output = [UInt8](repeating: 0, count: expected + 1)
        var outputLength = uLongf(output.count)
        let status = uncompress(&output, &outputLength, stream, uLong(stream.count))
        guard status == Z_OK else { throw Failure(description: "uncompress failed with \(status)") }
        inflated = Array(output[0..<Int(outputLength)])
        pixels = inflated.count == expected ? PNGReader.unfilter(inflated, stride: stride, bpp: stride / width) : []
    }

    static func bigEndian(_ bytes: [UInt8], _ at: Int) -> UInt32 {
        UInt32(bytes[at]) << 24 | UInt32(bytes[at + 1]) << 16 | UInt32(bytes[at + 2]) << 8 | UInt32(bytes[at + 3])
    }

    /// CRC-32 (polynomial 0xEDB88320), bit by bit.
    static func crc(_ bytes: [UInt8]) -> UInt32 {
        var crc: UInt32 = 0xFFFF_FFFF
        for byte in bytes {
            crc ^= UInt32(byte)
            for _ in 0..<8 { crc = crc & 1 == 1 ? (crc >> 1) ^ 0xEDB8_8320 : crc >> 1 }
        }
        return ~crc
    }

    static func unfilter(_ data: [UInt8], stride: Int, bpp: Int) -> [UInt8] {
        var out: [UInt8] = []
        var prior = [UInt8](repeating: 0, count: stride)
        var at = 0
        while at < data.count {
            let type = data[at]
            var row = [UInt8](repeating: 0, count: stride)
            for i in 0..<stride {
                let a = i >= bpp ? Int(row[i - bpp]) : 0
                let b = Int(prior[i])
                let c = i >= bpp ? Int(prior[i - bpp]) : 0
                let predictor: Int
                switch type {
                case 0: predictor = 0
                case 1: predictor = a
                case 2: predictor = b
                case 3: predictor = (a + b) / 2
                case 4:
                    let p = a + b - c
                    let (pa, pb, pc) = (abs(p - a), abs(p - b), abs(p - c))
                    predictor = pa <= pb && pa <= pc ? a : (pb <= pc ? b : c)
                default: predictor = -1_000_000  // makes the row obviously wrong
                }
                row[i] = UInt8(truncatingIfNeeded: Int(data[at + 1 + i]) + predictor)
            }
            out += row
            prior = row
            at += 1 + stride
        }
        return out
    }

    /// The level at (x, y) of a grayscale image.
    func gray(_ x: Int, _ y: Int) -> UInt8 { pixels[y * width + x] }

    /// The (r, g, b) at (x, y) of an RGB image.
    func rgb(_ x: Int, _ y: Int) -> (UInt8, UInt8, UInt8) {
        let i = 3 * (y * width + x)
        return (pixels[i], pixels[i + 1], pixels[i + 2])
    }
}
