import Glibc
import Synchronization

/// Writes files so that a reader (or a restart after a crash) sees either the old file or the
/// whole new one, never a partial one: temporary name in the same folder, fsync, rename, fsync
/// of the folder.
public enum AtomicFile {
    /// Why a write failed; `description` is one line naming the file.
    public struct WriteError: Error, CustomStringConvertible, Equatable {
        public let path: String
        public let reason: String
        /// The errno that stopped the write, so callers tell a full disk from other failures by kind.
        public let code: Int32
        public var description: String { "\(path): cannot write: \(reason)" }

        public init(path: String, code: Int32) {
            (self.path, self.code) = (path, code)
            reason = String(cString: strerror(code))
        }

        /// The file system (or the user's quota) is full.
        public var isOutOfSpace: Bool { code == ENOSPC || code == EDQUOT }
    }

    /// The suffix of temporary files; a crash can leave one behind, and start-up may remove them.
    public static let temporarySuffix = ".partial"

    /// `<path>.<pid>.partial`, or, when that name would pass NAME_MAX (255 bytes), a short hidden
    /// name in the same folder, `.ctd-<pid>-<n>.partial` (n counts such names in this process).
    static func temporaryName(for path: String) -> String {
        let suffix = ".\(getpid())\(temporarySuffix)"
        let slash = path.utf8.lastIndex(of: UInt8(ascii: "/"))
        let name = slash.map { path.utf8[path.utf8.index(after: $0)...] } ?? path.utf8[...]
        if name.count + suffix.utf8.count <= 255 { return path + suffix }
        let folder = slash.map { String(path[..<$0]) } ?? "."
        let n = shortNames.wrappingAdd(1, ordering: .relaxed).oldValue
        return "\(folder)/.ctd-\(getpid())-\(n)\(temporarySuffix)"
    }
    private static let shortNames = Atomic<Int>(0)

    /// Replaces (or creates) `path` with `bytes`, with permission bits `mode`.
    public static func write(_ bytes: [UInt8], to path: String, mode: mode_t = 0o644) throws(WriteError) {
        let temporary = temporaryName(for: path)
        let fd = open(temporary, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode)
        guard fd >= 0 else { throw WriteError(path: path, code: errno) }
        var written = 0
        let failure: Int32? = bytes.withUnsafeBytes { raw in
            while written < raw.count {
                let n = Glibc.write(fd, raw.baseAddress! + written, raw.count - written)
                if n < 0 {
                    if errno == EINTR { continue }
                    return errno
                }
                written += n
            }
            return fsync(fd) == 0 ? nil : errno
        }
        if let failure {
            close(fd)
            unlink(temporary)
            throw WriteError(path: path, code: failure)
        }
        guard close(fd) == 0 else {
            let code = errno
            unlink(temporary)
            throw WriteError(path: path, code: code)
        }
        guard rename(temporary, path) == 0 else {
            let code = errno
            unlink(temporary)
            throw WriteError(path: path, code: code)
        }
        syncDirectory(of: path)
    }

    /// Makes the rename itself durable. Best effort: some file systems refuse fsync on folders.
    public static func syncDirectory(of path: String) {
        let folder = path.lastIndex(of: "/").map { String(path[..<$0]) } ?? "."
        let fd = open(folder.isEmpty ? "/" : folder, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard fd >= 0 else { return }
        fsync(fd)
        close(fd)
    }
}
