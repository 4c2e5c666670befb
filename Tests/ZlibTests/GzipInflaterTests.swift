import Testing
import Zlib

@Suite struct GzipInflaterTests {
    let payload: [UInt8] = (0..<200_000).map { UInt8(truncatingIfNeeded: $0 &* 2654435761 >> 13) }

    @Test func roundTripsThroughGzip() throws {
        let compressed = try Deflate.compress(payload, wrapper: .gzip)
        #expect(compressed.count < payload.count)
        let inflater = GzipInflater(bytes: compressed)
        #expect(try inflater.read(count: payload.count) == payload)
        #expect(inflater.isCompressed)
        #expect(try inflater.read(count: 10).isEmpty, "nothing after the end of the data")
    }

    @Test func readsInPiecesWithSmallInputChunks() throws {
        var remaining = try Deflate.compress(payload, wrapper: .gzip)[...]
        let inflater = GzipInflater(inputChunkSize: 7) { maxCount in
            let chunk = remaining.prefix(maxCount); remaining = remaining.dropFirst(chunk.count); return Array(chunk)
        }
        var out: [UInt8] = []
        while true {
            let piece = try inflater.read(count: 12_345)
            if piece.isEmpty { break }
            out += piece
        }
        #expect(out == payload)
    }

    @Test func continuesIntoTheNextMember() throws {
        let first = try Deflate.compress(Array(payload[..<1000]), wrapper: .gzip)
        let second = try Deflate.compress(Array(payload[1000...]), wrapper: .gzip)
        #expect(try GzipInflater(bytes: first + second).read(count: payload.count) == payload)
    }

    @Test func passesPlainBytesThrough() throws {
        let inflater = GzipInflater(bytes: payload)
        #expect(try inflater.read(count: 100) == Array(payload[..<100]))
        #expect(!inflater.isCompressed)
    }

    @Test func reportsTruncationMidMember() throws {
        let compressed = try Deflate.compress(payload, wrapper: .gzip)
        let inflater = GzipInflater(bytes: Array(compressed[..<(compressed.count / 2)]))
        #expect(throws: ZlibError.truncated) { try inflater.read(count: payload.count) }
    }

    @Test func reportsCorruptData() throws {
        var compressed = try Deflate.compress(payload, wrapper: .gzip)
        for index in 20..<60 { compressed[index] ^= 0xA5 }
        let inflater = GzipInflater(bytes: compressed)
        #expect {
            _ = try inflater.read(count: payload.count)
        } throws: { error in
            if case ZlibError.corrupt = error { return true }
            return false
        }
    }

    @Test func stopsAtTheRequestedSizeOfABomb() throws {
        // 64 MiB of zeros compresses to ~65 KB; asking for 1 KB must not inflate the rest.
        let zeros = [UInt8](repeating: 0, count: 1 << 26)
        let bomb = try Deflate.compress(zeros, wrapper: .gzip, level: 9)
        var pulled = 0
        var remaining = bomb[...]
        let inflater = GzipInflater(inputChunkSize: 4096) { maxCount in
            let chunk = remaining.prefix(maxCount); remaining = remaining.dropFirst(chunk.count); pulled += chunk.count
            return Array(chunk)
        }
        #expect(try inflater.read(count: 1024).count == 1024)
        #expect(inflater.totalOut == 1024)
        #expect(pulled <= 8192, "only the first input chunks are read")
    }

    @Test func crcMatchesTheKnownValue() {
        #expect(crc32(Array("123456789".utf8)) == 0xCBF4_3926)
    }
}
