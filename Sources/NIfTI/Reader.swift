import Zlib

/// Reads `.nii` and `.nii.gz` files (NIfTI-1 or -2, either byte order; gzip is recognised by
/// content, not by name) into checked `Volume`s.
///
/// Every header claim is checked — the named `HeaderChecks`, then `ReadLimits` against the real
/// file — before voxel memory is allocated. Decompression stops at the size the header implies.
/// Every failure is a `NIfTIError` naming the file and the reason; nothing here traps on bad input.
public struct NIfTIReader: Sendable {
    public var limits: ReadLimits
    /// Extensions between the header and `vox_offset` larger than this are refused (a hostile
    /// `vox_offset` would otherwise make us inflate gigabytes just to skip them).
    public var maxExtensionBytes: Int

    /// Deflate cannot compress better than 1032:1, so a `.nii.gz` whose header claims more than
    /// this many bytes per compressed byte is truncated for sure: refuse before allocating.
    static let maxDeflateRatio = 1032

    /// Compressed files up to this size are read whole and decoded with libdeflate (faster);
    /// larger ones stream through zlib, so memory stays bounded either way.
    public var maxWholeFileBytes: Int

    public init(limits: ReadLimits = ReadLimits(), maxExtensionBytes: Int = 64 << 20, maxWholeFileBytes: Int = 512 << 20) {
        self.limits = limits
        self.maxExtensionBytes = maxExtensionBytes
        self.maxWholeFileBytes = maxWholeFileBytes
    }

    /// The header, its non-fatal problems, and whether the file is gzip-compressed.
    /// Voxel data is not read, but the size rules are checked as far as the file allows.
    public func inspect(path: String) throws(NIfTIError) -> (header: Header, problems: [HeaderProblem], compressed: Bool) {
        let opened = try open(FileInput.opening(path), name: path)
        return (opened.header, opened.problems, opened.inflater.isCompressed)
    }

    /// The checked volume in `path`.
    public func read(path: String) throws(NIfTIError) -> Volume {
        try read(from: FileInput.opening(path), name: path)
    }

    /// The checked volume in the bytes `source` gives, read once from the front; `name` is the
    /// file as errors name it. What was read is all that was used: a caller that hashes the
    /// bytes as they pass (ingest) knows the volume came from exactly those bytes.
    public func read(from source: some ByteSource, name: String) throws(NIfTIError) -> Volume {
        let head: [UInt8]
        do { head = try source.read(maxCount: 2) } catch { throw NIfTIError(file: name, reason: error) }
        // A .nii.gz up to maxWholeFileBytes is read whole and decoded with libdeflate (faster);
        // larger ones, and uncompressed files, stream, so memory stays bounded either way.
        if head == [0x1f, 0x8b], source.size <= maxWholeFileBytes {
            var whole = head
            do {
                while whole.count <= source.size {
                    let chunk = try source.read(maxCount: min(1 << 24, source.size + 1 - whole.count))
                    if chunk.isEmpty { break }
                    whole += chunk
                }
            } catch { throw NIfTIError(file: name, reason: error) }
            let opened = try open(MemorySource(whole), name: name)
            let byteCount = opened.header.dataByteCount!
            if let decoded = WholeGzip.decompress(whole, size: opened.dataStart + byteCount) {
                return Volume(header: opened.header, warnings: opened.problems, rawData: Array(decoded[opened.dataStart...]))
            }
            return try readData(opened, name: name)  // the streaming path gives the precise error
        }
        return try readData(open(PrefixedSource(head, then: source), name: name), name: name)
    }

    /// Streams the voxel data after the header.
    private func readData(_ opened: Opened, name: String) throws(NIfTIError) -> Volume {
        let fail = { (reason: NIfTIError.Reason) in NIfTIError(file: name, reason: reason, earlierProblems: opened.problems) }
        let byteCount = opened.header.dataByteCount!
        let data: [UInt8]
        do {
            data = try opened.inflater.read(count: byteCount)
        } catch {
            throw fail(Self.reason(for: error, decompressed: opened.inflater.totalOut - opened.dataStart, expected: byteCount))
        }
        guard data.count == byteCount else {
            throw fail(.truncatedData(expected: byteCount, available: data.count))
        }
        return Volume(header: opened.header, warnings: opened.problems, rawData: data)
    }

    private struct Opened {
        let header: Header
        let problems: [HeaderProblem]
        let inflater: GzipInflater
        let dataStart: Int
        let fileSize: Int
    }

    /// Opens the file, decodes and checks the header, applies the limits and positions the
    /// stream at `vox_offset`.
    private func open(_ input: some ByteSource, name path: String) throws(NIfTIError) -> Opened {
        guard input.size > 0 else { throw NIfTIError(file: path, reason: .empty) }
        let inflater = GzipInflater { maxCount in try input.read(maxCount: maxCount) }
        let (header, problems, prefixCount) = try readHeader(inflater, name: path, describing: false)
        let fail = { (reason: NIfTIError.Reason) in NIfTIError(file: path, reason: reason, earlierProblems: problems) }

        let dataStart = Int(header.voxOffset)
        if let problem = extensionProblem(header) { throw fail(.badHeader(problem)) }
        let available: Int? = inflater.isCompressed ? nil : input.size - dataStart
        if let reason = limits.check(header, availableDataBytes: available) { throw fail(reason) }
        if inflater.isCompressed, let bytes = header.dataByteCount,
           bytes / Self.maxDeflateRatio > input.size {
            throw fail(.truncatedGzip(decompressed: 0, expected: bytes))
        }

        // Skip the extensions (and, for a short prefix, nothing) up to vox_offset.
        var position = prefixCount
        while position < dataStart {
            let skipped: [UInt8]
            do { skipped = try inflater.read(count: min(dataStart - position, 1 << 20)) } catch {
                throw fail(Self.reason(for: error, decompressed: 0, expected: header.dataByteCount ?? 0))
            }
            if skipped.isEmpty { throw fail(.truncatedData(expected: header.dataByteCount ?? 0, available: 0)) }
            position += skipped.count
        }
        return Opened(header: header, problems: problems, inflater: inflater, dataStart: dataStart, fileSize: input.size)
    }

    /// Decodes and checks the header at the start of the stream: the header, its problems (a
    /// fatal one is thrown, except a `.shape` problem when `describing`) and the bytes read.
    private func readHeader(_ inflater: GzipInflater, name path: String, describing: Bool) throws(NIfTIError) -> (Header, [HeaderProblem], Int) {
        // Read NIfTI-1's length first: its data may start right after it (byte 352).
        var prefix: [UInt8]
        do {
            prefix = try inflater.read(count: NIfTIVersion.nifti1.headerSize)
            if prefix.count >= 4, Header.sizeofHeaderVersion(prefix) == .nifti2 {
                prefix += try inflater.read(count: NIfTIVersion.nifti2.headerSize - prefix.count)
            }
        } catch {
            // A stream too short for even a NIfTI-1 header is just a bad file.
            throw NIfTIError(file: path, reason: Self.reason(for: error, decompressed: inflater.totalOut, expected: NIfTIVersion.nifti1.headerSize))
        }
        let header: Header
        do { header = try Header.decode(prefix) } catch { throw NIfTIError(file: path, reason: .badHeader(error)) }
        let problems = HeaderChecks.run(header, describing: describing)
        if let fatal = problems.last, fatal.isFatal, !(describing && fatal.check == .shape) {
            throw NIfTIError(file: path, reason: .badHeader(fatal), earlierProblems: problems.dropLast())
        }
        return (header, problems, prefix.count)
    }

    /// Extensions so large that skipping them would mean inflating gigabytes.
    private func extensionProblem(_ header: Header) -> HeaderProblem? {
        let extensionBytes = Int(header.voxOffset) - header.version.headerSize
        guard extensionBytes > maxExtensionBytes else { return nil }
        return HeaderProblem(check: .voxOffset, message: "vox_offset \(Int(header.voxOffset)) leaves \(extensionBytes) bytes of extensions (limit \(maxExtensionBytes))")
    }

    /// What `ctd inspect` shows about a file whose header is valid.
    public struct Description: Sendable {
        public let header: Header
        /// Non-fatal header problems.
        public let warnings: [HeaderProblem]
        public let compressed: Bool
        /// Why ctd can't use the file although it is valid NIfTI: not one 3-D volume, or beyond the limits.
        public let unusable: NIfTIError.Reason?
        /// What is wrong with the voxel data: it ends early, or the gzip stream is corrupt.
        public let dataProblem: NIfTIError.Reason?
    }

    /// Describes the file: its header, then every byte of voxel data read through (in 1 MiB
    /// pieces, not kept) to find data that ends early or is corrupt. Throws only when the header
    /// itself can't be read or is invalid. Data beyond the limits is not read through.
    public func describe(path: String) throws(NIfTIError) -> Description {
        let input = try FileInput.opening(path)
        guard input.size > 0 else { throw NIfTIError(file: path, reason: .empty) }
        let inflater = GzipInflater { maxCount in try input.read(maxCount: maxCount) }
        let (header, problems, prefixCount) = try readHeader(inflater, name: path, describing: true)
        let shape = problems.first { $0.check == .shape }
        let described = { (unusable: NIfTIError.Reason?, data: NIfTIError.Reason?) in
            Description(header: header, warnings: problems.filter { !$0.isFatal }, compressed: inflater.isCompressed, unusable: unusable, dataProblem: data)
        }
        // A series or an image is described with all its voxels; a volume as ctd would read it.
        let unusable = shape.map { NIfTIError.Reason.badHeader($0) } ?? limits.check(header)
        if shape == nil, unusable != nil { return described(unusable, nil) }  // beyond the limits: not read through
        guard let count = shape == nil ? header.voxelCount : header.storedVoxelCount, let width = header.datatype?.bytesPerVoxel,
              case let (expected, false) = count.multipliedReportingOverflow(by: width) else {
            return described(unusable, nil)
        }
        guard expected <= limits.maxDataBytes else { return described(unusable, nil) }
        let dataStart = Int(header.voxOffset)
        if let problem = extensionProblem(header) { throw NIfTIError(file: path, reason: .badHeader(problem)) }
        guard inflater.isCompressed else {
            let available = input.size - dataStart
            return described(unusable, available < expected ? .truncatedData(expected: expected, available: max(0, available)) : nil)
        }
        if expected / Self.maxDeflateRatio > input.size { return described(unusable, .truncatedGzip(decompressed: 0, expected: expected)) }
        var position = prefixCount
        let end = dataStart + expected
        while position < end {
            let piece: [UInt8]
            do { piece = try inflater.read(count: min(end - position, 1 << 20)) } catch {
                return described(unusable, Self.reason(for: error, decompressed: max(0, inflater.totalOut - dataStart), expected: expected))
            }
            if piece.isEmpty { return described(unusable, .truncatedData(expected: expected, available: max(0, position - dataStart))) }
            position += piece.count
        }
        return described(unusable, nil)
    }

    static func reason(for error: ZlibError, decompressed: Int, expected: Int) -> NIfTIError.Reason {
        switch error {
        case .truncated: return .truncatedGzip(decompressed: max(0, decompressed), expected: expected)
        case .corrupt(let detail): return .corruptGzip(detail: detail)
        case .outOfMemory: return .unreadable(detail: "out of memory while decompressing")
        case .inputFailed(let detail): return .unreadable(detail: detail)
        }
    }
}
