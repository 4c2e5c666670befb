import CSocket
import Foundation
import Glibc

/// Why a socket operation failed, with the errno, so callers can turn it into advice.
public struct SocketError: Error, CustomStringConvertible, Equatable {
    public let path: String
    public let operation: String
    public let code: Int32
    public var description: String { "\(path): cannot \(operation): \(String(cString: strerror(code)))" }
}

/// One end of a Unix stream socket. Owns its descriptor (closed when the socket ends); no pointer escapes.
public final class UnixSocket: @unchecked Sendable {
    private let owned: OwnedDescriptor
    public let path: String
    public var descriptor: Int32 { owned.raw }

    public init(adopting descriptor: Int32, path: String) {
        owned = OwnedDescriptor(adopting: descriptor)
        self.path = path
    }

    /// Connects to a listening socket.
    public static func connect(to path: String) throws(SocketError) -> UnixSocket {
        let fd = ctd_unix_connect(path)
        guard fd >= 0 else { throw SocketError(path: path, operation: "connect", code: errno) }
        return UnixSocket(adopting: fd, path: path)
    }

    /// Binds and listens on `path` with permission bits `mode`.
    /// The socket appears at `path` only with its final mode and group: it is bound under a
    /// temporary name, given both, then renamed into place, so no one can connect in between.
    public static func listen(at path: String, mode: mode_t, group: gid_t? = nil, backlog: Int32 = 64) throws(SocketError) -> UnixSocket {
        let temporary = path + ".new"
        unlink(temporary)
        let fd = ctd_unix_listen(temporary, backlog)
        guard fd >= 0 else { throw SocketError(path: path, operation: "listen", code: errno) }
        let socket = UnixSocket(adopting: fd, path: path)
        func fail(_ operation: String) -> SocketError {
            let error = SocketError(path: path, operation: operation, code: errno)
            unlink(temporary)
            return error
        }
        guard chmod(temporary, mode) == 0 else { throw fail("set its mode") }
        if let group { guard chown(temporary, uid_t.max, group) == 0 else { throw fail("give it to group \(group)") } }
        guard rename(temporary, path) == 0 else { throw fail("move it into place") }
        return socket
    }

    /// Waits up to `timeout` seconds for a connection; nil when none came.
    public func accept(timeout: Double) throws(SocketError) -> UnixSocket? {
        guard wait(for: Int16(POLLIN), timeout: timeout) else { return nil }
        let fd = ctd_accept(descriptor)
        guard fd >= 0 else {
            let code = errno
            if code == EAGAIN || code == EINTR || code == ECONNABORTED { return nil }
            throw SocketError(path: path, operation: "accept", code: code)
        }
        return UnixSocket(adopting: fd, path: path)
    }

    /// True when the event came before `timeout` seconds passed.
    public func wait(for events: Int16, timeout: Double) -> Bool {
        var poller = pollfd(fd: descriptor, events: events, revents: 0)
        return poll(&poller, 1, Int32(max(0, min(timeout, 86_400)) * 1000)) > 0
    }

    /// The peer's process, user and group (SO_PEERCRED).
    public func peer() -> (pid: Int32, uid: uid_t, gid: gid_t)? {
        var pid: Int32 = 0
        var uid: UInt32 = 0, gid: UInt32 = 0
        guard ctd_peer_credentials(descriptor, &pid, &uid, &gid) == 0 else { return nil }
        return (pid, uid, gid)
    }

    /// Sends all of `bytes`, with `attaching` as SCM_RIGHTS on the first chunk when given.
    public func send(_ bytes: [UInt8], attaching descriptor: Int32? = nil) throws(SocketError) {
        var offset = 0
        var attachment = descriptor
        while offset < bytes.count {
            let count = bytes.withUnsafeBytes { raw in
                if let fd = attachment {
                    ctd_send_with_descriptor(self.descriptor, raw.baseAddress! + offset, raw.count - offset, fd)
                } else {
                    ctd_send(self.descriptor, raw.baseAddress! + offset, raw.count - offset)
                }
            }
            if count < 0 {
                if errno == EINTR { continue }
                throw SocketError(path: path, operation: "send", code: errno)
            }
            attachment = nil
            offset += count
        }
    }

    /// Receives what is there (at most `maxCount` bytes). A descriptor sent with it goes into
    /// `descriptor`, closing the one there (one file per request: a second is not kept).
    /// Empty bytes mean the peer closed the connection.
    public func receive(maxCount: Int = 65536, descriptor: inout OwnedDescriptor?) throws(SocketError) -> [UInt8] {
        var buffer = [UInt8](repeating: 0, count: maxCount)
        var received: Int32 = -1
        while true {
            let count = buffer.withUnsafeMutableBytes { raw in ctd_receive_with_descriptor(owned.raw, raw.baseAddress, raw.count, &received) }
            if count < 0 {
                if errno == EINTR { continue }
                throw SocketError(path: path, operation: "receive", code: errno)
            }
            if received >= 0 { descriptor = OwnedDescriptor(adopting: received) }
            return Array(buffer.prefix(count))
        }
    }

    /// Receives bytes only: a descriptor sent with them is closed.
    public func receive(maxCount: Int = 65536) throws(SocketError) -> [UInt8] {
        var ignored: OwnedDescriptor?
        return try receive(maxCount: maxCount, descriptor: &ignored)
    }

    /// Stops further sends and receives (wakes a thread blocked on this socket).
    public func shutdown() { _ = Glibc.shutdown(descriptor, Int32(SHUT_RDWR)) }
}
