import CZlib

/// One-shot compression, for files the project writes itself (`.nii.gz`, PNG).
public enum Deflate {
    /// The container around the deflate stream.
    public enum Wrapper: Sendable {
        /// gzip (RFC 1952), as in `.nii.gz`.
        case gzip
        /// zlib (RFC 1950), as inside a PNG's IDAT chunks.
        case zlib
    }

    /// Compresses `bytes`; `level` runs from 1 (fastest) to 9 (smallest).
    public static func compress(_ bytes: [UInt8], wrapper: Wrapper, level: Int32 = 6) throws(ZlibError) -> [UInt8] {
        let stream = UnsafeMutablePointer<z_stream>.allocate(capacity: 1)
        stream.initialize(to: z_stream())
        defer { stream.deinitialize(count: 1); stream.deallocate() }
        let windowBits: Int32 = wrapper == .gzip ? 15 + 16 : 15
        switch ctd_deflateInit2(stream, level, windowBits) {
        case Z_OK: break
        case Z_MEM_ERROR: throw .outOfMemory
        case let status: preconditionFailure("deflateInit2 failed with \(status): a bug in Deflate")
        }
        defer { deflateEnd(stream) }
        var output: [UInt8] = []
        output.reserveCapacity(Int(deflateBound(stream, uLong(min(bytes.count, Int(UInt32.max))))) + 64)
        var chunk = [UInt8](repeating: 0, count: 1 << 18)
        var input = bytes
        let total = input.count
        var offset = 0
        var status: Int32 = Z_OK
        input.withUnsafeMutableBufferPointer { src in
            repeat {
                let inCount = min(total - offset, 1 << 30)
                stream.pointee.next_in = inCount > 0 ? src.baseAddress! + offset : nil
                stream.pointee.avail_in = UInt32(inCount)
                let flush = offset + inCount == total ? Z_FINISH : Z_NO_FLUSH
                repeat {
                    chunk.withUnsafeMutableBufferPointer { out in
                        stream.pointee.next_out = out.baseAddress!
                        stream.pointee.avail_out = UInt32(out.count)
                        status = deflate(stream, flush)
                        output.append(contentsOf: out.prefix(out.count - Int(stream.pointee.avail_out)))
                    }
                } while stream.pointee.avail_out == 0
                offset += inCount - Int(stream.pointee.avail_in)
            } while status != Z_STREAM_END && status >= 0
        }
        guard status == Z_STREAM_END else { preconditionFailure("deflate ended with \(status): a bug in Deflate") }
        return output
    }
}

/// CRC-32 as used by gzip and PNG.
public func crc32(_ bytes: [UInt8], continuing previous: UInt32 = 0) -> UInt32 {
    bytes.withUnsafeBufferPointer { buffer in
        UInt32(CZlib.crc32(uLong(previous), buffer.baseAddress, uInt(buffer.count)))
    }
}
