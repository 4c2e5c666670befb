import Glibc

/// A file descriptor this code owns: closed exactly once, when its value ends. It cannot be
/// copied, so it cannot be closed twice or used after its close; `raw` is lent for one call.
public struct OwnedDescriptor: ~Copyable {
    public let raw: Int32

    public init(adopting raw: Int32) { self.raw = raw }

    /// Opens `path` read-only; the errno on failure.
    public init(openingForReading path: String) throws(SocketError) {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw SocketError(path: path, operation: "open", code: errno) }
        raw = fd
    }

    deinit { close(raw) }
}
