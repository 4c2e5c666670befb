import ControlProtocol
import Foundation
import Glibc
import UnixSocket

/// Why ctctl could not do what was asked: one sentence, a hint saying what to do, and the exit
/// status (69 no daemon, 75 busy, 77 permission denied, 1 the daemon refused the request).
public struct ClientError: Error, CustomStringConvertible {
    public let message: String
    public let hint: String?
    public let exitCode: Int32
    /// For scripts: the daemon's error code (`not_found`, `busy`, ...), or ctctl's own
    /// (`no_daemon`, `permission_denied`, `cannot_open`, `failed`).
    public let code: String
    public var description: String { message }

    public init(_ message: String, hint: String? = nil, exitCode: Int32 = 1, code: String? = nil) {
        (self.message, self.hint, self.exitCode) = (message, hint, exitCode)
        self.code = code ?? (exitCode == 69 ? "no_daemon" : exitCode == 75 ? "busy" : exitCode == 77 ? "permission_denied" : "failed")
    }
}

/// Talks to the daemon over its Unix socket: one request at a time, answers matched by id.
public final class ControlClient {
    public let path: String
    private let socket: UnixSocket
    private var lines = LineBuffer(limit: ControlProtocol.maxResponseBytes)
    private var pending: [[UInt8]] = []
    private var nextID = 1

    /// Where the daemon listens: `--socket`, else `CTD_SOCKET`, else the systemd path when it
    /// exists, else the default state folder's.
    public static func socketPath(explicit: String?, environment: [String: String] = ProcessInfo.processInfo.environment) -> String {
        if let explicit, !explicit.isEmpty { return explicit }
        if let variable = environment["CTD_SOCKET"], !variable.isEmpty { return variable }
        if access(ControlProtocol.systemdSocket, F_OK) == 0 { return ControlProtocol.systemdSocket }
        return "/var/lib/ctd/" + ControlProtocol.socketName
    }

    public init(path: String) throws(ClientError) {
        self.path = path
        do {
            socket = try UnixSocket.connect(to: path)
        } catch {
            throw Self.explain(error)
        }
    }

    /// The advice for a failed connection.
    static func explain(_ error: SocketError) -> ClientError {
        switch error.code {
        case ENOENT, ECONNREFUSED:
            return ClientError("ctd is not running (nothing is listening at \(error.path))",
                               hint: "start it with `sudo systemctl start ctd` (or `ctd run --state-dir DIR`), or point ctctl at its socket with --socket PATH or CTD_SOCKET",
                               exitCode: 69)
        case EACCES, EPERM:
            var info = stat()
            let group = stat(error.path, &info) == 0 ? getgrgid(info.st_gid).map { String(cString: $0.pointee.gr_name) } : nil
            return ClientError("permission denied on \(error.path)",
                               hint: "join the group that may use it: `sudo usermod -aG \(group ?? "ctd") $USER`, then log in again",
                               exitCode: 77)
        default:
            return ClientError(error.description, exitCode: 69)
        }
    }

    /// Sends a request (with a file descriptor attached for `predict`) and returns the final
    /// result; progress lines of a streaming command go to `progress`.
    public func call(_ command: Command, label: String? = nil, state: String? = nil, limit: Int? = nil, target: String? = nil,
                     wait: Bool? = nil, promotion: Request.Promotion? = nil, attaching descriptor: Int32? = nil,
                     progress: (JSONValue) -> Void = { _ in }) throws(ClientError) -> JSONValue {
        let id = String(nextID)
        nextID += 1
        let request = Request(id: id, command: command, label: label, state: state, limit: limit, target: target, wait: wait, promotion: promotion)
        do {
            try socket.send(try ControlCoding.line(request), attaching: descriptor)
        } catch let error as SocketError {
            // A daemon that refuses us (busy) answers and closes at once, perhaps before our
            // request arrived; its answer is still waiting to be read.
            if let line = try? nextLine(), let refusal = try? JSONDecoder().decode(Response.self, from: Data(line)).error {
                throw Self.clientError(refusal)
            }
            throw ClientError("lost the connection to ctd at \(path): \(error)", exitCode: 69)
        } catch {
            throw ClientError("cannot encode the request: \(error)")
        }
        while true {
            let line = try nextLine()
            guard let response = try? JSONDecoder().decode(Response.self, from: Data(line)) else {
                throw ClientError("ctd sent something that is not a response: \(String(decoding: line.prefix(200), as: UTF8.self))")
            }
            guard response.id == id || response.id.isEmpty else { continue }
            if let error = response.error { throw Self.clientError(error) }
            if !response.done {
                if let result = response.result { progress(result) }
                continue
            }
            return response.result ?? .null
        }
    }

    static func clientError(_ error: ControlError) -> ClientError {
        let exit: Int32 = error.code == .permissionDenied ? 77 : error.code == .busy ? 75 : 1
        return ClientError(error.message, hint: hint(for: error), exitCode: exit, code: error.code.rawValue)
    }

    static func hint(for error: ControlError) -> String? {
        switch error.code {
        case .unsupportedVersion: "use the ctctl installed with this ctd"
        case .busy: "try again in a moment"
        case .permissionDenied: "ask an administrator to add you to the daemon's control group"
        default: nil
        }
    }

    private func nextLine() throws(ClientError) -> [UInt8] {
        while pending.isEmpty {
            let received: [UInt8]
            do {
                received = try socket.receive()
            } catch {
                throw ClientError("lost the connection to ctd at \(path): \(error)", exitCode: 69)
            }
            guard !received.isEmpty else { throw ClientError("ctd closed the connection (did it stop?)", exitCode: 69) }
            do {
                pending += try lines.append(received)
            } catch {
                throw ClientError("ctd sent a line longer than \(ControlProtocol.maxResponseBytes) bytes")
            }
        }
        return pending.removeFirst()
    }
}
