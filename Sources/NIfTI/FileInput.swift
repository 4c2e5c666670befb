import Glibc

/// An open regular file, read sequentially; closed when released.
/// Opening refuses directories, devices and FIFOs before reading a byte (O_NONBLOCK keeps a FIFO
/// from blocking the open).
final class FileInput {
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
