import Reports
import Testing

/// The PNG container and pixel data, read back with the independent `PNGReader`.
@Suite struct PNGEncoderTests {
    /// 3×2 RGB: red, green, blue / white, black, a mid gray.
    let small: [UInt8] = [255, 0, 0, 0, 255, 0, 0, 0, 255,
                          255, 255, 255, 0, 0, 0, 128, 128, 128]

    @Test func testReaderComputesTheStandardCRC() {
        // Known values: the CRC of "IEND" in every PNG, and the CRC-32 check value.
        #expect(PNGReader.crc(Array("IEND".utf8)) == 0xAE42_6082)
        #expect(PNGReader.crc(Array("123456789".utf8)) == 0xCBF4_3926)
    }

    @Test func smallImageHasTheStandardStructure() throws {
        let file = try PNGEncoder.encode(pixels: small, width: 3, height: 2, colorType: .rgb, rowFilter: .none)
        let png = try PNGReader(file)
        #expect(Array(file[0..<8]) == [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A])
        #expect(png.chunks.map(\.type) == ["IHDR", "IDAT", "IEND"])
        for chunk in png.chunks {
            #expect(chunk.storedCRC == chunk.computedCRC, "CRC of \(chunk.type)")
        }
        #expect(png.chunks.last?.data.isEmpty == true)
        #expect(png.width == 3 && png.height == 2)
        #expect(png.bitDepth == 8 && png.colorType == 2)
        #expect(png.compression == 0 && png.filterMethod == 0 && png.interlace == 0)
        // Filter type 0: exactly height × (1 + width × 3) bytes, a zero before each row.
        #expect(png.inflated.count == 2 * (1 + 3 * 3))
        #expect(png.inflated == [0] + Array(small[0..<9]) + [0] + Array(small[9..<18]))
        #expect(png.pixels == small)
    }

    @Test func grayscaleRoundTrips() throws {
        let pixels: [UInt8] = (0..<(7 * 5)).map { UInt8($0 * 7) }
        let png = try PNGReader(PNGEncoder.encode(pixels: pixels, width: 7, height: 5, colorType: .grayscale,
                                                  rowFilter: .none))
        #expect(png.colorType == 0 && png.width == 7 && png.height == 5)
        #expect(png.inflated.count == 5 * (1 + 7))
        #expect(png.pixels == pixels)
    }

    @Test(arguments: [PNGEncoder.ColorType.rgb, .grayscale])
    func adaptiveFiltersRoundTripAndAreUsed(colorType: PNGEncoder.ColorType) throws {
        let (width, height) = (37, 23)
        let channels = colorType.channels
        // Gradients (which Sub/Up/Paeth flatten), a hard edge and a little noise.
        var pixels: [UInt8] = []
        var seed: UInt32 = 12345
        for y in 0..<height {
            for x in 0..<width {
                for ch in 0..<channels {
                    seed = seed &* 1_664_525 &+ 1_013_904_223
                    let noise = y > 15 ? UInt8(seed >> 28) : 0
                    pixels.append(UInt8(truncatingIfNeeded: x * 5 + y * 3 + ch * 40 + (x > 20 ? 90 : 0)) &+ noise)
                }
            }
        }
        let png = try PNGReader(PNGEncoder.encode(pixels: pixels, width: width, height: height, colorType: colorType))
        #expect(png.inflated.count == height * (1 + width * channels))
        let filterTypes = Set((0..<height).map { png.inflated[$0 * (1 + width * channels)] })
        #expect(filterTypes.isSubset(of: [0, 1, 2, 3, 4]))
        #expect(filterTypes.contains { $0 != 0 }, "a gradient should not be left unfiltered")
        #expect(png.pixels == pixels)
    }

    @Test func largeDataIsSplitIntoConsecutiveIDATChunks() throws {
        let (width, height) = (300, 300)
        var seed: UInt32 = 7
        let pixels: [UInt8] = (0..<(width * height * 3)).map { _ in
            seed = seed &* 1_664_525 &+ 1_013_904_223
            return UInt8(seed >> 24)
        }
        let png = try PNGReader(PNGEncoder.encode(pixels: pixels, width: width, height: height, colorType: .rgb))
        let types = png.chunks.map(\.type)
        #expect(types.first == "IHDR" && types.last == "IEND")
        #expect(types.dropFirst().dropLast().allSatisfy { $0 == "IDAT" })
        #expect(types.count > 3, "noise does not compress, so the stream needs several IDAT chunks")
        #expect(png.chunks.allSatisfy { $0.storedCRC == $0.computedCRC })
        #expect(png.pixels == pixels)
    }

    @Test func acceptsTheLargestSide() throws {
        let png = try PNGReader(PNGEncoder.encode(pixels: [UInt8](repeating: 9, count: PNGEncoder.maxSide),
                                                  width: PNGEncoder.maxSide, height: 1, colorType: .grayscale))
        #expect(png.width == 16_384 && png.pixels.allSatisfy { $0 == 9 })
    }

    @Test(arguments: [(0, 1), (1, 0), (-3, 4), (16_385, 1), (1, 16_385), (Int.max, Int.max)])
    func rejectsBadSizes(width: Int, height: Int) {
        #expect(throws: ReportsError.badImageSize(width: width, height: height, limit: 16_384)) {
            try PNGEncoder.encode(pixels: [0], width: width, height: height, colorType: .grayscale)
        }
    }

    @Test func rejectsAPixelBufferOfTheWrongSize() {
        #expect(throws: ReportsError.pixelCountMismatch(expected: 18, actual: 17)) {
            try PNGEncoder.encode(pixels: Array(small.dropLast()), width: 3, height: 2, colorType: .rgb)
        }
        #expect(throws: ReportsError.pixelCountMismatch(expected: 6, actual: 18)) {
            try PNGEncoder.encode(pixels: small, width: 3, height: 2, colorType: .grayscale)
        }
    }

    @Test func errorsReadAsOneLine() {
        let text = ReportsError.badImageSize(width: 0, height: 5, limit: 16_384).description
        #expect(text == "image size 0×5 is outside 1…16384 pixels per side")
    }
}
