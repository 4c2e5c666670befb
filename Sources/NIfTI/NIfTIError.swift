/// Why a file could not be read as a NIfTI volume. `description` is one line: "<file>: <reason>".
public struct NIfTIError: Error, Sendable, CustomStringConvertible, Equatable {
    /// The file as the user named it.
    public let file: String
    public let reason: Reason
    /// Problems found before the fatal one (non-fatal header findings), for the rejection note.
    public var earlierProblems: [HeaderProblem] = []

    public init(file: String, reason: Reason, earlierProblems: [HeaderProblem] = []) {
        self.file = file
        self.reason = reason
        self.earlierProblems = earlierProblems
    }

    public var description: String { "\(file): \(reason)" }

    public enum Reason: Error, Sendable, Equatable, CustomStringConvertible {
        case notFound
        case notARegularFile(kind: String)
        case unreadable(detail: String)
        case empty
        /// A header check failed; the problem names the field.
        case badHeader(HeaderProblem)
        case tooManyVoxels(count: Int, limit: Int)
        case tooManyBytes(count: Int, limit: Int)
        case truncatedData(expected: Int, available: Int)
        case truncatedGzip(decompressed: Int, expected: Int)
        case corruptGzip(detail: String)

        /// The bytes stop before the file is whole, as they do while a copy is still being written.
        public var endsEarly: Bool {
            switch self {
            case .empty, .truncatedData, .truncatedGzip: return true
            case .badHeader(let problem): return problem.isTooShort
            default: return false
            }
        }

        public var description: String {
            switch self {
            case .notFound: return "no such file"
            case .notARegularFile(let kind): return "not a regular file (\(kind))"
            case .unreadable(let detail): return "cannot read: \(detail)"
            case .empty: return "file is empty"
            case .badHeader(let problem): return problem.message
            case .tooManyVoxels(let count, let limit):
                return "\(count) voxels exceed the voxel limit of \(limit) (raise limits.max_voxels if this scan is genuine)"
            case .tooManyBytes(let count, let limit):
                return "voxel data of \(count) bytes exceeds the limit of \(limit) bytes"
            case .truncatedData(let expected, let available):
                return "truncated: the header implies \(expected) bytes of voxel data but only \(available) are present"
            case .truncatedGzip(let decompressed, let expected):
                return "truncated gzip: the stream ends after \(decompressed) of \(expected) bytes the header implies"
            case .corruptGzip(let detail):
                return "corrupt gzip data (\(detail))"
            }
        }
    }
}
