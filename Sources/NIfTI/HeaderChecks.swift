/// The header rule a problem breaks, in the order the rules are checked.
public enum HeaderCheck: String, Sendable, Codable, CaseIterable {
    case sizeofHeader = "sizeof_hdr"
    case magic
    case dim
    /// Valid, but not one 3-D volume (a 2-D image, a series): ctd can't use it, `inspect` describes it.
    case shape
    case datatype
    case bitpix
    case voxOffset = "vox_offset"
    case scaling = "scl_slope"
    case pixdim
}

/// One finding about a header. A fatal one stops reading (later checks would read garbage);
/// the others are reported and the file is still read.
public struct HeaderProblem: Error, Sendable, Equatable, CustomStringConvertible, Codable {
    public let check: HeaderCheck
    public let message: String
    public let isFatal: Bool

    public init(check: HeaderCheck, message: String, isFatal: Bool = true) {
        self.check = check
        self.message = message
        self.isFatal = isFatal
    }

    public var description: String { message }

    /// The file ends inside its header.
    static func tooShort(_ message: String) -> HeaderProblem {
        HeaderProblem(check: .sizeofHeader, message: tooShortPrefix + message)
    }
    private static let tooShortPrefix = "file is "
    public var isTooShort: Bool { check == .sizeofHeader && message.hasPrefix(Self.tooShortPrefix) }
}

/// The rules a header must pass before any voxel is read, as small named checks applied in order
/// (after `sizeof_hdr`, which `Header.decode` checks): each returns its problem or nil.
public enum HeaderChecks {
    public static let ordered: [(HeaderCheck, @Sendable (Header) -> HeaderProblem?)] = [
        (.magic, magic), (.dim, dim), (.shape, shape), (.datatype, datatype), (.bitpix, bitpix),
        (.voxOffset, voxOffset), (.scaling, scaling), (.pixdim, pixdim),
    ]

    /// Runs the checks in order and stops at the first fatal problem.
    /// Returns every problem found, the fatal one (if any) last. `describing` (for `ctd inspect`)
    /// goes on past a `.shape` problem, which stops ctd from using the file but not from reading
    /// the rest of the header.
    public static func run(_ header: Header, describing: Bool = false) -> [HeaderProblem] {
        var found: [HeaderProblem] = []
        for (_, check) in ordered {
            guard let problem = check(header) else { continue }
            found.append(problem)
            if problem.isFatal, !(describing && problem.check == .shape) { break }
        }
        return found
    }

    static func magic(_ h: Header) -> HeaderProblem? {
        let expected = h.version == .nifti1 ? "n+1\\0" : "n+2\\0\\x0d\\x0a\\x1a\\x0a"
        if h.magic == expected { return nil }
        let pair = h.version == .nifti1 ? "ni1\\0" : "ni2\\0\\x0d\\x0a\\x1a\\x0a"
        if h.magic == pair {
            return HeaderProblem(check: .magic, message: "a two-file NIfTI header (.hdr/.img pair) is not supported: convert it to a single .nii or .nii.gz")
        }
        if h.version == .nifti2 && h.magic.hasPrefix("n+2\\0") {
            return HeaderProblem(check: .magic, message: "bad magic \"\(h.magic)\": the NIfTI-2 line-ending guard bytes are damaged (was the file copied in text mode?)")
        }
        return HeaderProblem(check: .magic, message: "bad magic \"\(h.magic)\" (expected \"\(expected)\" for a single-file NIfTI-\(h.version.rawValue))")
    }

    static func dim(_ h: Header) -> HeaderProblem? {
        let rank = h.dim[0]
        guard (1...7).contains(rank) else {
            return HeaderProblem(check: .dim, message: "dim[0]=\(rank) must be between 1 and 7")
        }
        for axis in 1...rank where h.dim[axis] < 1 {
            return HeaderProblem(check: .dim, message: "dim[\(axis)]=\(h.dim[axis]) must be at least 1")
        }
        return nil
    }

    static func shape(_ h: Header) -> HeaderProblem? {
        let rank = h.dim[0]
        guard rank >= 3 else {
            return HeaderProblem(check: .shape, message: "a \(rank)-D image, not a 3-D volume (dim[0]=\(rank)); ctd needs one 3-D CT volume")
        }
        for axis in stride(from: 4, through: rank, by: 1) where h.dim[axis] != 1 {
            return HeaderProblem(check: .shape, message: "dim[\(axis)]=\(h.dim[axis]): a series of \(h.dim[axis]) volumes; ctd needs one 3-D CT volume (split the series, e.g. with fslsplit)")
        }
        return nil
    }

    static func datatype(_ h: Header) -> HeaderProblem? {
        guard let type = h.datatype else {
            return HeaderProblem(check: .datatype, message: "unknown datatype code \(h.datatypeCode)")
        }
        guard type.isSupported else {
            return HeaderProblem(check: .datatype, message: "unsupported datatype \(type.name) (\(type.rawValue)): only integer, float32 and float64 scalars can be read")
        }
        return nil
    }

    static func bitpix(_ h: Header) -> HeaderProblem? {
        guard let type = h.datatype, h.bitpix != type.bitsPerVoxel else { return nil }
        return HeaderProblem(check: .bitpix, message: "bitpix \(h.bitpix) does not match datatype \(type.name) (\(type.bitsPerVoxel) bits); the datatype is used", isFatal: false)
    }

    static func voxOffset(_ h: Header) -> HeaderProblem? {
        let offset = h.voxOffset
        guard offset.isFinite, offset >= 0, offset == offset.rounded(), offset < 0x1p52 else {
            return HeaderProblem(check: .voxOffset, message: "vox_offset \(offset) is not a whole number of bytes")
        }
        guard Int(offset) >= h.version.minimumVoxOffset else {
            return HeaderProblem(check: .voxOffset, message: "vox_offset \(Int(offset)) points inside the header (a single-file NIfTI-\(h.version.rawValue) needs at least \(h.version.minimumVoxOffset))")
        }
        return nil
    }

    static func scaling(_ h: Header) -> HeaderProblem? {
        // As nibabel: a slope of 0 or a non-finite slope means "no scaling"; a usable slope needs a finite intercept.
        guard h.scaling != nil, !h.sclInter.isFinite else { return nil }
        return HeaderProblem(check: .scaling, message: "scl_slope is \(h.sclSlope) but scl_inter is \(h.sclInter)")
    }

    static func pixdim(_ h: Header) -> HeaderProblem? {
        for axis in 1...3 where !(h.pixdim[axis].isFinite && h.pixdim[axis] > 0) {
            return HeaderProblem(check: .pixdim, message: "pixdim[\(axis)]=\(h.pixdim[axis]) is not a positive voxel size", isFatal: false)
        }
        return nil
    }
}
