/// Why a compressed stream could not be read or written.
public enum ZlibError: Error, Equatable, Sendable, CustomStringConvertible {
    /// The input ended in the middle of a gzip member (a partial copy or download).
    case truncated
    /// The bytes are not valid gzip/deflate data; `detail` is zlib's own message.
    case corrupt(detail: String)
    /// zlib could not get memory for its state.
    case outOfMemory
    /// Reading the underlying input failed.
    case inputFailed(detail: String)

    public var description: String {
        switch self {
        case .truncated: return "truncated gzip stream (the file ends before the compressed data does)"
        case .corrupt(let detail): return "corrupt gzip data (\(detail))"
        case .outOfMemory: return "out of memory while decompressing"
        case .inputFailed(let detail): return "read failed: \(detail)"
        }
    }
}
