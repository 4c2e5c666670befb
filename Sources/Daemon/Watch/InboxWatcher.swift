import Foundation
import Glibc

/// Why watching cannot start or continue; says what to change.
public struct WatchError: Error, CustomStringConvertible {
    public let path: String
    public let reason: String
    public var description: String { "\(path): \(reason)" }
}

/// inotify on the inbox and every folder below it, new folders included. Reports files that a
/// writer closed or renamed into place, files that went away, and queue overflows (after which
/// the caller rescans everything). A new folder is scanned right after it is watched, so files
/// created in it before its watch existed are not missed.
public final class InboxWatcher {
    public enum Event: Hashable, Sendable {
        /// A file (path relative to the inbox) was closed after writing, moved in, or found by a scan.
        case file(String)
        /// A file went away (deleted or moved out).
        case gone(String)
        /// The kernel's event queue overflowed: events were lost, rescan.
        case overflow
    }

    public let root: String
    private let descriptor: Int32
    /// A pipe: `interrupt()` writes a byte to its end from any thread, which ends a wait in `next` at once.
    private let doorbell: (read: Int32, write: Int32)
    private var folders: [Int32: String] = [:]

    private static let fileMask = UInt32(IN_CLOSE_WRITE | IN_MOVED_TO | IN_MOVED_FROM | IN_DELETE | IN_CREATE)
    private static let folderMask = fileMask | UInt32(IN_DELETE_SELF | IN_MOVE_SELF | IN_ONLYDIR)

    public init(root: String) throws(WatchError) {
        self.root = root
        descriptor = inotify_init1(Int32(IN_NONBLOCK | IN_CLOEXEC))
        guard descriptor >= 0 else {
            let code = errno
            throw WatchError(path: root, reason: code == EMFILE
                ? "too many inotify instances: raise fs.inotify.max_user_instances (sysctl)"
                : "cannot start inotify: \(String(cString: strerror(code)))")
        }
        var ends: [Int32] = [-1, -1]
        guard pipe(&ends) == 0 else {
            let code = errno
            close(descriptor)
            throw WatchError(path: root, reason: "cannot create a pipe: \(String(cString: strerror(code)))")
        }
        doorbell = (ends[0], ends[1])
        for end in ends {
            _ = fcntl(end, F_SETFD, FD_CLOEXEC)
            _ = fcntl(end, F_SETFL, O_NONBLOCK)
        }
    }

    deinit {
        close(descriptor)
        close(doorbell.read)
        close(doorbell.write)
    }

    /// Ends the current (or the next) wait in `next` early; safe from any thread. (When the pipe
    /// is full, a wake-up is already pending.)
    public func interrupt() {
        var one: UInt8 = 1
        _ = write(doorbell.write, &one, 1)
    }

    public var watchedFolders: Int { folders.count }

    /// Watches `relative` (and everything below it) and returns the files already there.
    @discardableResult
    public func watchTree(_ relative: String = "") throws(WatchError) -> [Event] {
        let absolute = relative.isEmpty ? root : root + "/" + relative
        let wd = inotify_add_watch(descriptor, absolute, Self.folderMask)
        if wd < 0 {
            let code = errno
            switch code {
            case ENOSPC:
                throw WatchError(path: absolute, reason: "the inotify watch limit is reached: raise fs.inotify.max_user_watches (sysctl)")
            case ENOENT, ENOTDIR:
                return []  // gone before we got to it
            default:
                throw WatchError(path: absolute, reason: "cannot watch: \(String(cString: strerror(code)))")
            }
        }
        folders[wd] = relative
        var found: [Event] = []
        let entries = ((try? FileManager.default.contentsOfDirectory(atPath: absolute)) ?? []).sorted()
        for name in entries {
            let child = relative.isEmpty ? name : relative + "/" + name
            var info = stat()
            guard lstat(root + "/" + child, &info) == 0 else { continue }
            if (info.st_mode & S_IFMT) == S_IFDIR {
                found += try watchTree(child)
            } else if (info.st_mode & S_IFMT) == S_IFREG {
                found.append(.file(child))
            }
        }
        return found
    }

    /// Waits up to `timeout` seconds for events, or until `interrupt()`, and returns them (possibly none).
    public func next(timeout: Double) throws(WatchError) -> [Event] {
        var pollers = [pollfd(fd: descriptor, events: Int16(POLLIN), revents: 0), pollfd(fd: doorbell.read, events: Int16(POLLIN), revents: 0)]
        let ready = poll(&pollers, 2, Int32((max(0, min(timeout, 3600)) * 1000).rounded(.up)))
        guard ready > 0 else { return [] }
        if pollers[1].revents != 0 {
            var drained = [UInt8](repeating: 0, count: 64)
            while read(doorbell.read, &drained, drained.count) > 0 {}
        }
        var events: [Event] = []
        let capacity = 64 * 1024
        var buffer = [UInt8](repeating: 0, count: capacity)
        while true {
            let count = buffer.withUnsafeMutableBytes { read(descriptor, $0.baseAddress, capacity) }
            if count <= 0 { break }
            events += try decode(buffer, count: count)
        }
        return events
    }

    private func decode(_ buffer: [UInt8], count: Int) throws(WatchError) -> [Event] {
        var events: [Event] = []
        var offset = 0
        let headerSize = MemoryLayout<inotify_event>.size
        while offset + headerSize <= count {
            let (wd, mask, nameLength) = buffer.withUnsafeBytes { raw in
                (raw.loadUnaligned(fromByteOffset: offset, as: Int32.self),
                 raw.loadUnaligned(fromByteOffset: offset + 4, as: UInt32.self),
                 Int(raw.loadUnaligned(fromByteOffset: offset + 12, as: UInt32.self)))
            }
            let nameBytes = buffer[(offset + headerSize)..<min(count, offset + headerSize + nameLength)]
            let name = String(decoding: nameBytes.prefix { $0 != 0 }, as: UTF8.self)
            offset += headerSize + nameLength
            if mask & UInt32(IN_Q_OVERFLOW) != 0 { events.append(.overflow); continue }
            if mask & UInt32(IN_IGNORED) != 0 { folders[wd] = nil; continue }
            guard let folder = folders[wd], !name.isEmpty else { continue }
            let relative = folder.isEmpty ? name : folder + "/" + name
            if mask & UInt32(IN_ISDIR) != 0 {
                if mask & UInt32(IN_CREATE | IN_MOVED_TO) != 0 { events += try watchTree(relative) }
                continue
            }
            if mask & UInt32(IN_CLOSE_WRITE | IN_MOVED_TO) != 0 {
                events.append(.file(relative))
            } else if mask & UInt32(IN_DELETE | IN_MOVED_FROM) != 0 {
                events.append(.gone(relative))
            }
        }
        return events
    }
}
