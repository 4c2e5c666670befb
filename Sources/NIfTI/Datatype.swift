/// A NIfTI `datatype` code, named as in `nifti1.h`.
public enum Datatype: Int, Sendable, CaseIterable, Codable {
    case binary = 1
    case uint8 = 2
    case int16 = 4
    case int32 = 8
    case float32 = 16
    case complex64 = 32
    case float64 = 64
    case rgb24 = 128
    case int8 = 256
    case uint16 = 512
    case uint32 = 768
    case int64 = 1024
    case uint64 = 1280
    case float128 = 1536
    case complex128 = 1792
    case complex256 = 2048
    case rgba32 = 2304

    /// The scalar types a volume can be read from; the others are rejected.
    public var isSupported: Bool { bytesPerVoxel != nil }

    /// Bytes per voxel for supported types; nil for the rest.
    public var bytesPerVoxel: Int? {
        switch self {
        case .uint8, .int8: return 1
        case .int16, .uint16: return 2
        case .int32, .uint32, .float32: return 4
        case .int64, .uint64, .float64: return 8
        default: return nil
        }
    }

    /// The bits per voxel the standard implies (what `bitpix` should say).
    public var bitsPerVoxel: Int {
        switch self {
        case .binary: return 1
        case .uint8, .int8: return 8
        case .int16, .uint16: return 16
        case .rgb24: return 24
        case .int32, .uint32, .float32, .rgba32: return 32
        case .int64, .uint64, .float64, .complex64: return 64
        case .float128, .complex128: return 128
        case .complex256: return 256
        }
    }

    public var name: String { "\(self)" }
}
