import ContentHash
import Glibc
import NIfTI
import Scheduling

/// One inbox file, opened once and read, hashed and preprocessed from that one descriptor.
///
/// Anyone who can write to the inbox can swap a file for a symlink or a FIFO between two looks
/// at it. So the file is opened beneath the inbox folder one name at a time, never following a
/// symlink (`O_NOFOLLOW`) and never blocking on a FIFO (`O_NONBLOCK`); `fstat` on the descriptor
/// decides whether it is a regular file; every byte the reader sees is hashed as it passes, so
/// the hash, the dimensions and the cached tensor all come from the same bytes; and the file is
/// moved only while its inbox name still names the inode that was read.
final class InboxFile: ByteSource {
    /// Why a file was not opened: none of these is the file's fault, so none is a rejection.
    enum Skipped: Error, Equatable {
        case gone
        /// A symlink, folder, FIFO, device or socket: the watcher ignores those too.
        case notARegularFile(kind: String)
    }

    private let folder: Int32
    private let name: String
    private let file: Int32
    private let device: UInt64
    private let inode: UInt64
    /// The size and modification time when opened; reads stop at this size.
    let size: Int
    let modified: Double
    private var position = 0
    private var hash = ContentHash.Running()
    /// The first two bytes read (gzip's magic number, when compressed).
    private(set) var head: [UInt8] = []

    /// Opens `relative` beneath the folder `root`.
    /// - Throws: `Skipped` when there is nothing to ingest there, `DaemonError` when the machine
    ///   refuses (permissions, too many open files).
    init(root: String, relative: String) throws {
        var components = relative.split(separator: "/", omittingEmptySubsequences: true).map(String.init)
        guard let last = components.popLast(), !components.contains(where: { $0 == "." || $0 == ".." }),
              last != ".", last != ".." else { throw Skipped.gone }
        var folder = open(root, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard folder >= 0 else { throw Self.failure(opening: root) }
        for component in components {
            let next = openat(folder, component, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)
            let code = errno
            close(folder)
            guard next >= 0 else { throw Self.skipped(code) ?? Self.failure(opening: root + "/" + relative, code: code) }
            folder = next
        }
        let file = openat(folder, last, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY | O_CLOEXEC)
        guard file >= 0 else {
            let code = errno
            close(folder)
            throw Self.skipped(code) ?? Self.failure(opening: root + "/" + relative, code: code)
        }
        var info = stat()
        guard fstat(file, &info) == 0, (info.st_mode & S_IFMT) == S_IFREG else {
            let kind = info.st_mode & S_IFMT
            close(file)
            close(folder)
            throw Skipped.notARegularFile(kind: Self.kindNames[kind] ?? "mode \(kind)")
        }
        (self.folder, self.name, self.file) = (folder, last, file)
        (device, inode) = (UInt64(info.st_dev), UInt64(info.st_ino))
        size = Int(info.st_size)
        modified = Double(info.st_mtim.tv_sec) + Double(info.st_mtim.tv_nsec) / 1e9
    }

    deinit {
        close(file)
        close(folder)
    }

    static let kindNames: [mode_t: String] = [S_IFDIR: "a folder", S_IFIFO: "a FIFO", S_IFCHR: "a character device",
                                              S_IFBLK: "a block device", S_IFSOCK: "a socket", S_IFLNK: "a symbolic link"]

    /// ENOENT: gone; ELOOP: the last name is a symlink; ENOTDIR: a folder on the way is not one (or is a symlink).
    private static func skipped(_ code: Int32) -> Skipped? {
        switch code {
        case ENOENT: .gone
        case ELOOP: .notARegularFile(kind: "a symbolic link")
        case ENOTDIR: .notARegularFile(kind: "a symbolic link or file where a folder was")
        default: nil
        }
    }

    private static func failure(opening path: String, code: Int32 = errno) -> DaemonError {
        DaemonError(reason: "\(path): cannot open: \(String(cString: strerror(code)))")
    }

    // MARK: Reading

    /// The next bytes, up to the size at opening (bytes appended later are not this file's).
    func read(maxCount: Int) throws(NIfTIError.Reason) -> [UInt8] {
        let wanted = max(0, min(maxCount, size - position))
        var failure: Int32 = 0
        let bytes = [UInt8](unsafeUninitializedCapacity: wanted) { buffer, count in
            count = 0
            while count < wanted {
                let n = Glibc.read(file, buffer.baseAddress! + count, wanted - count)
                if n > 0 { count += n; continue }
                if n == 0 { return }
                if errno != EINTR { failure = errno; return }
            }
        }
        if failure != 0 { throw .unreadable(detail: String(cString: strerror(failure))) }
        position += bytes.count
        hash.update(bytes)
        if head.count < 2 { head += bytes.prefix(2 - head.count) }
        return bytes
    }

    /// What the file was: reads what the reader left (so the hash covers the whole file) and
    /// checks that it did not change meanwhile. `nil` when it did: a writer is still at it, and
    /// the bytes read are not one file's.
    func finish() throws -> (hash: String, size: Int)? {
        while position < size {
            let chunk: [UInt8]
            do { chunk = try read(maxCount: min(1 << 20, size - position)) } catch {
                throw DaemonError(reason: "\(name): \(error)")
            }
            if chunk.isEmpty { return nil }  // shrank while being read
        }
        var info = stat()
        guard fstat(file, &info) == 0 else { return nil }
        let now = Double(info.st_mtim.tv_sec) + Double(info.st_mtim.tv_nsec) / 1e9
        guard Int(info.st_size) == size, now == modified else { return nil }
        return (hash.finish(), size)
    }

    // MARK: Moving

    enum Moved: Equatable {
        case moved
        /// The inbox name was gone: someone took the file away.
        case gone
        /// The inbox name named another file by the time of the move (a swap): that file was put
        /// back in the inbox, where it is a new arrival.
        case replaced
    }

    /// Renames the file from the inbox to `destination` (a free name in ctd's own folders), if the
    /// inbox name still names the inode that was read.
    func move(to destination: String) throws -> Moved {
        guard renameat(folder, name, AT_FDCWD, destination) == 0 else {
            let code = errno
            if code == ENOENT { return .gone }
            throw DaemonError(reason: "\(destination): cannot move the inbox file here: \(String(cString: strerror(code)))", code: code)
        }
        var info = stat()
        if lstat(destination, &info) == 0, UInt64(info.st_dev) == device, UInt64(info.st_ino) == inode { return .moved }
        try putBack(from: destination)
        return .replaced
    }

    /// Returns what the rename took to the inbox, under its own name or (when a new file has taken
    /// that name meanwhile) a tagged one; link + unlink, because replacing a file there would lose it.
    private func putBack(from destination: String) throws {
        let ext = FileNaming.scanExtension(of: name)
        for attempt in 0..<100 {
            let target = attempt == 0 ? name
                : FileNaming.fit(stem: String(name.dropLast(ext.count)), tag: "-returned-\(attempt)", extension: ext)
            if linkat(AT_FDCWD, destination, folder, target, 0) == 0 {
                unlink(destination)
                return
            }
            if errno == EPERM, faccessat(folder, target, F_OK, AT_SYMLINK_NOFOLLOW) != 0,
               renameat(AT_FDCWD, destination, folder, target) == 0 {
                return  // a folder: it cannot be linked, and no file had taken its name
            }
            guard errno == EEXIST || errno == EPERM else { break }
        }
        let code = errno
        throw DaemonError(reason: "\(destination): a file swapped into the inbox during ingest was moved here and cannot be put back: \(String(cString: strerror(code)))", code: code)
    }
}
