import Foundation

/// What `ctd inspect` reports about a file: the header facts a person checks first.
/// Encoded with snake_case keys (`--json`); `text` is the human form.
public struct HeaderFacts: Codable, Sendable, Equatable {
    public var file: String
    public var niftiVersion: Int
    public var byteOrder: ByteOrder
    public var compressed: Bool
    /// dim[1...dim[0]].
    public var dims: [Int]
    public var datatype: String
    public var bitpix: Int
    /// pixdim[1...dim[0]] (voxel spacing, then time step if any).
    public var pixdim: [Double]
    public var sclSlope: Double
    public var sclInter: Double
    /// Whether scl_slope/scl_inter are applied when reading (a slope of 0 or NaN means no).
    public var scalingApplied: Bool
    public var voxOffset: Int
    public var qformCode: Int
    public var sformCode: Int
    /// Axis directions (e.g. "LPS") from the sform, else the qform; nil when neither is set.
    public var orientation: String?
    public var description: String
    /// Non-fatal header problems.
    public var warnings: [String]
    /// `ctd inspect` only, and only when there is one: why ctd can't use this valid file (not
    /// one 3-D volume, beyond the limits), and what is wrong with its voxel data.
    public var unusable: String?
    public var dataProblem: String?

    public init(file: String, header h: Header, compressed: Bool, problems: [HeaderProblem]) {
        self.file = file
        niftiVersion = h.version.rawValue
        byteOrder = h.byteOrder
        self.compressed = compressed
        let rank = max(0, min(7, h.dim[0]))
        dims = Array(h.dim[1..<(1 + rank)])
        datatype = h.datatype?.name ?? "code \(h.datatypeCode)"
        bitpix = h.bitpix
        pixdim = Array(h.pixdim[1..<(1 + rank)])
        sclSlope = h.sclSlope
        sclInter = h.sclInter
        scalingApplied = h.scaling != nil
        voxOffset = Int(h.voxOffset)
        qformCode = h.qformCode
        sformCode = h.sformCode
        orientation = h.orientation
        description = h.description
        warnings = problems.map(\.message)
    }

    /// The JSON form (`ctd inspect --json`): sorted keys; NaN and infinities as the strings
    /// "NaN", "Infinity", "-Infinity" (a NaN scl_slope is common and legal).
    public func json() -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        encoder.nonConformingFloatEncodingStrategy = .convertToString(positiveInfinity: "Infinity", negativeInfinity: "-Infinity", nan: "NaN")
        return String(decoding: try! encoder.encode(self), as: UTF8.self)
    }

    /// Human-readable form, one fact per line.
    public var text: String {
        // Whole numbers without ".0"; NIfTI-1's float32 fields at float32 precision ("0.7", not "0.699999988").
        func number(_ value: Double) -> String {
            if value == value.rounded() && abs(value) < 1e15 { return String(Int(value)) }
            return Double(Float(value)) == value ? String(Float(value)) : String(value)
        }
        var lines = [
            "file:         \(file)",
            "format:       NIfTI-\(niftiVersion), \(byteOrder)-endian\(compressed ? ", gzip" : "")",
            "dims:         \(dims.map(String.init).joined(separator: " × "))",
            "datatype:     \(datatype) (bitpix \(bitpix))",
            "pixdim:       \(pixdim.map(number).joined(separator: " × "))",
            "scl_slope:    \(number(sclSlope))",
            "scl_inter:    \(number(sclInter))\(scalingApplied ? "" : "  (no scaling applied)")",
            "vox_offset:   \(voxOffset)",
            "qform/sform:  \(qformCode)/\(sformCode)\(orientation.map { ", orientation \($0)" } ?? "")",
        ]
        if !description.isEmpty { lines.append("description:  \(description)") }
        lines += warnings.map { "warning:      \($0)" }
        if let dataProblem { lines.append("data:         \(dataProblem)") }
        if let unusable { lines.append("ctd can't use it: \(unusable)") }
        return lines.joined(separator: "\n")
    }

    private enum CodingKeys: String, CodingKey {
        case file, compressed, dims, datatype, bitpix, pixdim, orientation, description, warnings, unusable
        case dataProblem = "data_problem"
        case niftiVersion = "nifti_version", byteOrder = "byte_order", sclSlope = "scl_slope"
        case sclInter = "scl_inter", scalingApplied = "scaling_applied", voxOffset = "vox_offset"
        case qformCode = "qform_code", sformCode = "sform_code"
    }
}
