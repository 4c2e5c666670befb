import Zlib

/// Why a picture could not be made. Every case names the value that was refused and the limit it broke;
/// `description` is one line.
public enum ReportsError: Error, Equatable, Sendable, CustomStringConvertible {
    /// An image side is zero, negative or above `limit` (PNGs this large would be a bug upstream).
    case badImageSize(width: Int, height: Int, limit: Int)
    /// The pixel buffer does not hold width × height × channels bytes.
    case pixelCountMismatch(expected: Int, actual: Int)
    /// A volume's dimensions are not positive, or `voxels` does not hold nx × ny × nz values.
    case badVolume(nx: Int, ny: Int, nz: Int, voxelCount: Int)
    /// A montage grid needs at least one row and one column.
    case badGrid(rows: Int, columns: Int)
    /// zlib failed while compressing the image data.
    case compressionFailed(ZlibError)

    public var description: String {
        switch self {
        case .badImageSize(let width, let height, let limit):
            return "image size \(width)×\(height) is outside 1…\(limit) pixels per side"
        case .pixelCountMismatch(let expected, let actual):
            return "pixel buffer holds \(actual) bytes but the image needs \(expected)"
        case .badVolume(let nx, let ny, let nz, let voxelCount):
            return "volume \(nx)×\(ny)×\(nz) does not match its \(voxelCount) voxels (every side must be positive)"
        case .badGrid(let rows, let columns):
            return "montage grid \(rows)×\(columns) needs at least one row and one column"
        case .compressionFailed(let error):
            return "PNG compression failed: \(error)"
        }
    }
}
