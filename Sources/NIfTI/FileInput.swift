import Glibc

/// Where a reader's bytes come from, read once from the front.
public protocol ByteSource: AnyObject {
    /// The size when it was opened: the size rules compare the header's claims with it, and
    /// reads stop at end of data, so a size that changes later cannot make the reader overrun.
    var size: Int { get }
    /// The next `maxCount` bytes, or fewer at the end (empty there).
    func read(maxCount: Int) throws(NIfTIError.Reason) -> [UInt8]
}

/// Bytes already in memory.
final class MemorySource: ByteSource {
    private let bytes: [UInt8]
    private var position = 0
    var size: Int { bytes.count }
    init(_ bytes: [UInt8]) { self.bytes = bytes }
    func read(maxCount: Int) throws(NIfTIError.Reason) -> [UInt8] {
        let end = min(bytes.count, position + maxCount)
        defer { position = end }
        return Array(bytes[position..<end])
    }
}

/// A few bytes already taken from a source (to look at the format), then the rest of it.
final class PrefixedSource<Rest: ByteSource>: ByteSource {
    private var prefix: [UInt8]
    private let rest: Rest
    var size: Int { rest.size }
    init(_ prefix: [UInt8], then rest: Rest) { (self.prefix, self.rest) = (prefix, rest) }
    func read(maxCount: Int) throws(NIfTIError.Reason) -> [UInt8] {
        guard !prefix.isEmpty else { return try rest.read(maxCount: maxCount) }
        let taken = Array(prefix.prefix(maxCount))
        prefix.removeFirst(taken.count)
        return taken + (taken.count < maxCount ? try rest.read(maxCount: maxCount - taken.count) : [])
    }
}

/// An open regular file, read sequentially; closed when released.
/// Opening refuses directories, devices and FIFOs before reading a byte (O_NONBLOCK keeps a FIFO
/// from blocking the open).
final class FileInput: ByteSource {
    private let descriptor: Int32
    /// The file's size when it was opened.
    let size: Int

    init(path: String) throws(NIfTIError.Reason) {
        let fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK)
        guard fd >= 0 else {
            let code = errno
            if code == ENOENT { throw .notFound }
            throw .unreadable(detail: String(cString: strerror(code)))
        }
        var info = stat()
        guard fstat(fd, &info) == 0 else {
            let code = errno
            close(fd)
            throw .unreadable(detail: String(cString: strerror(code)))
        }
        let kind = info.st_mode & S_IFMT
        guard kind == S_IFREG else {
            close(fd)
            let names: [mode_t: String] = [S_IFDIR: "a directory", S_IFIFO: "a FIFO", S_IFCHR: "a character device",
                                           S_IFBLK: "a block device", S_IFSOCK: "a socket"]
            throw .notARegularFile(kind: names[kind] ?? "mode \(kind)")
        }
        descriptor = fd
        size = Int(info.st_size)
    }

    deinit { close(descriptor) }

    /// Opens `path` for a reader, with the error naming the file.
    static func opening(_ path: String) throws(NIfTIError) -> FileInput {
        do { return try FileInput(path: path) } catch { throw NIfTIError(file: path, reason: error) }
    }

    /// The next `maxCount` bytes, or fewer at end of file (empty there).
    func read(maxCount: Int) throws(NIfTIError.Reason) -> [UInt8] {
        var failure: Int32 = 0
        let bytes = [UInt8](unsafeUninitializedCapacity: maxCount) { buffer, count in
            count = 0
            while count < maxCount {
                let n = Glibc.read(descriptor, buffer.baseAddress! + count, maxCount - count)
                if n > 0 { count += n; continue }
                if n == 0 { return }
                if errno != EINTR { failure = errno; return }
            }
        }
        if failure != 0 { throw .unreadable(detail: String(cString: strerror(failure))) }
        return bytes
    }
}
