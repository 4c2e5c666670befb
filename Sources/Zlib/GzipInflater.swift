import CZlib

/// Streams the decompressed bytes of gzip data (one or several members, as `cat a.gz b.gz` makes)
/// pulled from `source`, handing out exactly as many bytes as asked for.
///
/// The caller decides how much it wants (the NIfTI header says how big the data is), so a
/// gzip bomb never inflates past that: decompression stops as soon as the request is met.
/// Input that does not start with the gzip magic is passed through unchanged, which makes a
/// mislabelled `.nii.gz` that is really uncompressed readable.
public final class GzipInflater {
    /// Returns up to `maxCount` more input bytes; an empty array means the input has ended.
    public typealias Source = (_ maxCount: Int) throws -> [UInt8]

    private let source: Source
    private let inputChunkSize: Int
    private var input: [UInt8] = []
    private var inputOffset = 0
    private var inputEnded = false
    private var stream: UnsafeMutablePointer<z_stream>
    private var streamInitialised = false
    private var memberEnded = false
    private var passThrough: Bool?
    /// Whether the input is gzip (false: passed through as is). Known after the first read.
    public var isCompressed: Bool { passThrough == false }
    /// Count of decompressed bytes handed out so far.
    public private(set) var totalOut = 0

    public init(inputChunkSize: Int = 1 << 18, source: @escaping Source) {
        self.source = source
        self.inputChunkSize = inputChunkSize
        stream = .allocate(capacity: 1)
        stream.initialize(to: z_stream())
    }

    /// Convenience: inflate from bytes already in memory.
    public convenience init(bytes: [UInt8]) {
        var remaining = bytes[...]
        self.init { maxCount in
            let chunk = remaining.prefix(maxCount)
            remaining = remaining.dropFirst(chunk.count)
            return Array(chunk)
        }
    }

    deinit {
        if streamInitialised { inflateEnd(stream) }
        stream.deinitialize(count: 1)
        stream.deallocate()
    }

    /// Returns the next `count` decompressed bytes, or fewer only when the data ends cleanly
    /// (after a complete gzip member). Throws `.truncated` when the input stops mid-member.
    public func read(count: Int) throws(ZlibError) -> [UInt8] {
        precondition(count >= 0, "negative read count")
        if count == 0 { return [] }
        var produced = 0
        var failure: ZlibError?
        let out = [UInt8](unsafeUninitializedCapacity: count) { buffer, initialised in
            do throws(ZlibError) {
                produced = try fill(buffer.baseAddress!, count: count)
            } catch {
                failure = error
            }
            initialised = produced
        }
        if let failure { throw failure }
        totalOut += produced
        return out
    }

    /// Writes up to `count` bytes at `destination`; returns how many were written.
    private func fill(_ destination: UnsafeMutablePointer<UInt8>, count: Int) throws(ZlibError) -> Int {
        var written = 0
        while written < count {
            if inputOffset == input.count {
                if inputEnded { break }
                try refill()
                continue
            }
            if passThrough == nil { try decideFormat() ; continue }
            if passThrough == true {
                let n = min(count - written, input.count - inputOffset)
                input.withUnsafeBufferPointer { src in
                    (destination + written).update(from: src.baseAddress! + inputOffset, count: n)
                }
                inputOffset += n
                written += n
                continue
            }
            if memberEnded {
                // Another member may follow; anything else after a complete member is ignored,
                // as gzip(1) does with trailing zero padding.
                guard try nextMemberFollows() else { return written }
                try resetStream()
            }
            written += try inflateSome(into: destination + written, count: count - written)
        }
        if passThrough == false && !memberEnded && written < count {
            throw .truncated
        }
        return written
    }

    private func refill() throws(ZlibError) {
        do {
            let chunk = try source(inputChunkSize)
            if chunk.isEmpty { inputEnded = true }
            input = chunk
            inputOffset = 0
        } catch {
            throw .inputFailed(detail: "\(error)")
        }
    }

    /// Gzip is recognised by its two magic bytes; anything else is read as plain bytes.
    private func decideFormat() throws(ZlibError) {
        while input.count - inputOffset < 2 && !inputEnded {
            let kept = Array(input[inputOffset...])
            try refill()
            input = kept + input
        }
        let available = input.count - inputOffset
        passThrough = !(available >= 2 && input[inputOffset] == 0x1f && input[inputOffset + 1] == 0x8b)
        if passThrough == false { try resetStream() }
    }

    private func nextMemberFollows() throws(ZlibError) -> Bool {
        while input.count - inputOffset < 2 && !inputEnded {
            let kept = Array(input[inputOffset...])
            try refill()
            input = kept + input
        }
        return input.count - inputOffset >= 2 && input[inputOffset] == 0x1f && input[inputOffset + 1] == 0x8b
    }

    private func resetStream() throws(ZlibError) {
        let status: Int32
        if streamInitialised {
            status = inflateReset(stream)
        } else {
            // 15 + 16: gzip wrapper only; 15 is the largest window.
            status = ctd_inflateInit2(stream, 15 + 16)
            streamInitialised = status == Z_OK
        }
        switch status {
        case Z_OK: memberEnded = false
        case Z_MEM_ERROR: throw .outOfMemory
        default: preconditionFailure("inflate init/reset failed with \(status): a bug in GzipInflater")
        }
    }

    private func inflateSome(into destination: UnsafeMutablePointer<UInt8>, count: Int) throws(ZlibError) -> Int {
        // avail_in/avail_out are 32-bit: feed at most 1 GiB per call.
        let outCount = min(count, 1 << 30)
        let inCount = input.count - inputOffset
        var status: Int32 = Z_OK
        var consumed = 0
        var produced = 0
        input.withUnsafeMutableBufferPointer { src in
            stream.pointee.next_in = src.baseAddress! + inputOffset
            stream.pointee.avail_in = UInt32(inCount)
            stream.pointee.next_out = destination
            stream.pointee.avail_out = UInt32(outCount)
            status = inflate(stream, Z_NO_FLUSH)
            consumed = inCount - Int(stream.pointee.avail_in)
            produced = outCount - Int(stream.pointee.avail_out)
            stream.pointee.next_in = nil
            stream.pointee.next_out = nil
        }
        inputOffset += consumed
        switch status {
        case Z_OK: break
        case Z_STREAM_END: memberEnded = true
        case Z_BUF_ERROR: break // no progress possible with this input: refill happens in the caller
        case Z_DATA_ERROR:
            let message = stream.pointee.msg.map { String(cString: $0) } ?? "invalid data"
            throw .corrupt(detail: message)
        case Z_MEM_ERROR: throw .outOfMemory
        case Z_NEED_DICT: throw .corrupt(detail: "needs a preset dictionary")
        default: preconditionFailure("inflate returned \(status): a bug in GzipInflater")
        }
        return produced
    }
}
