import CSystemd
import ControlProtocol
import Foundation
import Glibc
import Logging
import UnixSocket

/// Who is on the other end of a connection (SO_PEERCRED), for the log and for access checks.
public struct Peer: Sendable, CustomStringConvertible {
    public let pid: Int32
    public let uid: uid_t
    public let gid: gid_t

    public var userName: String { getpwuid(uid).map { String(cString: $0.pointee.pw_name) } ?? String(uid) }
    public var description: String { "\(userName) (uid \(uid), pid \(pid))" }

    /// Whether the peer's user belongs to `group` (primary or supplementary).
    public func belongs(to group: String) -> Bool {
        guard let entry = getgrnam(group) else { return false }
        let target = entry.pointee.gr_gid
        if gid == target { return true }
        guard let account = getpwuid(uid) else { return false }
        var count: Int32 = 64
        var groups = [gid_t](repeating: 0, count: Int(count))
        if getgrouplist(account.pointee.pw_name, account.pointee.pw_gid, &groups, &count) < 0 {
            groups = [gid_t](repeating: 0, count: Int(count))
            guard getgrouplist(account.pointee.pw_name, account.pointee.pw_gid, &groups, &count) >= 0 else { return false }
        }
        return groups.prefix(Int(count)).contains(target)
    }
}

/// The control socket: accepts clients (at most `maxClients` at once, each on its own thread so a
/// long `retrain --wait` never blocks the others), reads newline-delimited JSON requests within
/// `ControlProtocol.maxRequestBytes`, drops clients idle for `idleTimeout`, and answers through
/// the daemon's command table.
final class ControlServer: Worker, @unchecked Sendable {
    let name = "control"
    let socket: UnixSocket
    let ownsPath: Bool
    let settings: DaemonConfig.Control
    let log: Logger
    private let handle: Handler
    /// Answers one request; the descriptor passed with it (predict, import) is lent for the call.
    typealias Handler = @Sendable (Request, Peer, borrowing OwnedDescriptor?, (Response) throws -> Void) -> Void
    private let lock = NSLock()
    private var clients: [ObjectIdentifier: UnixSocket] = [:]
    private var stopping = false

    /// Listens at the configured path, or on the socket systemd passed (socket activation).
    init(settings: DaemonConfig.Control, path: String, log: Logger,
         handle: @escaping Handler) throws {
        self.settings = settings
        self.log = log
        self.handle = handle
        if sd_listen_fds(1) >= 1 {
            socket = UnixSocket(adopting: SD_LISTEN_FDS_START, path: "socket from systemd")
            ownsPath = false
            return
        }
        // A socket file left by a daemon that died: remove it, unless someone still answers there.
        if access(path, F_OK) == 0 {
            if (try? UnixSocket.connect(to: path)) != nil {
                throw DaemonError(reason: "\(path): another ctd is already listening here; stop it first")
            }
            unlink(path)
        }
        let mode: mode_t = settings.readGroup.isEmpty ? 0o660 : 0o666
        var groupID: gid_t?
        if !settings.group.isEmpty {
            guard let group = getgrnam(settings.group) else {
                throw DaemonError(reason: "control.group \"\(settings.group)\" does not exist: create it (groupadd) or change control.group")
            }
            groupID = group.pointee.gr_gid
        }
        do {
            socket = try UnixSocket.listen(at: path, mode: mode, group: groupID)
        } catch {
            throw DaemonError(reason: "\(error) (is the folder writable? set control.socket to choose another path)")
        }
        ownsPath = true
    }

    var path: String { socket.path }

    /// Accepts clients until `stop()`.
    func run() {
        while !isStopping {
            let client: UnixSocket?
            do {
                client = try socket.accept(timeout: 0.5)
            } catch {
                log.error("control socket: \(error)")
                Thread.sleep(forTimeInterval: 0.5)
                continue
            }
            guard let client else { continue }
            let admitted = lock.withLock { () -> Bool in
                guard clients.count < settings.maxClients, !stopping else { return false }
                clients[ObjectIdentifier(client)] = client
                return true
            }
            guard admitted else {
                refuse(client)
                continue
            }
            let thread = Thread { [self] in
                serve(client)
                lock.withLock { clients[ObjectIdentifier(client)] = nil }
            }
            thread.name = "control-client"
            thread.start()
        }
    }

    private var isStopping: Bool { lock.withLock { stopping } }

    /// Answers "busy" and closes. The client may not have sent its request yet; the answer waits
    /// in its socket, and ctctl reads it even when its own send then fails (exit 75, not 69).
    private func refuse(_ client: UnixSocket) {
        let busy = Response(id: "", error: ControlError(.busy, "ctd is serving \(settings.maxClients) clients already (control.max_clients)"))
        try? client.send(ControlCoding.line(busy))
        if let count = refusals.add(at: ContinuousClock.now) {
            log.warning("control: refused \(count) client\(count == 1 ? "" : "s"): serving \(settings.maxClients) already (control.max_clients)")
        }
    }
    private var refusals = ThrottledCount(interval: .seconds(1) as Swift.Duration)  // only the accept loop touches it

    func stop() {
        let open = lock.withLock { () -> [UnixSocket] in
            stopping = true
            return Array(clients.values)
        }
        for client in open { client.shutdown() }
        if ownsPath { unlink(socket.path) }
    }

    private func serve(_ client: UnixSocket) {
        var timeout = timeval(tv_sec: 10, tv_usec: 0)
        // A client that stops reading must not hold a thread forever.
        setsockopt(client.descriptor, SOL_SOCKET, SO_SNDTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        guard let credentials = client.peer() else { return }
        let peer = Peer(pid: credentials.pid, uid: credentials.uid, gid: credentials.gid)
        var buffer = LineBuffer(limit: ControlProtocol.maxRequestBytes)
        // The file passed with the request being read; one at a time, closed when it goes.
        var pending: OwnedDescriptor?
        let send: (Response) throws -> Void = { response in try client.send(ControlCoding.line(response)) }
        while !isStopping {
            guard client.wait(for: Int16(POLLIN), timeout: settings.idleTimeout) else {
                log.debug("control: closing a connection idle for \(Int(settings.idleTimeout)) s from \(peer)")
                return
            }
            let bytes: [UInt8]
            do { bytes = try client.receive(descriptor: &pending) } catch { return }
            guard !bytes.isEmpty else { return }
            let lines: [[UInt8]]
            do {
                lines = try buffer.append(bytes)
            } catch {
                log.warning("control: refused a request over \(ControlProtocol.maxRequestBytes) bytes from \(peer)")
                try? send(Response(id: "", error: ControlError(.tooLarge, "request longer than \(ControlProtocol.maxRequestBytes) bytes")))
                return
            }
            for line in lines where !line.allSatisfy({ $0 == 0x20 || $0 == 0x0d }) {
                switch ControlCoding.request(from: line) {
                case .failure(let error):
                    guard (try? send(Response(id: Self.id(in: line), error: error))) != nil else { return }
                case .success(let request):
                    let carriesFile = [Command.predict.rawValue, Command.importModel.rawValue].contains(request.command)
                    let descriptor = carriesFile ? pending.take() : nil
                    var delivered = true
                    handle(request, peer, descriptor) { response in
                        do { try send(response) } catch { delivered = false; throw error }
                    }
                    guard delivered else { return }
                }
            }
        }
    }

    /// The request's id if the line has one, so even a malformed request's error can be matched.
    static func id(in line: [UInt8]) -> String {
        (try? JSONSerialization.jsonObject(with: Data(line)) as? [String: Any])?["id"] as? String ?? ""
    }
}

/// Counts events and says when to report them, at most once per `interval`: a storm of refused
/// clients gives one log line a second, each with how many there were since the last line.
struct ThrottledCount {
    let interval: Swift.Duration
    private var lastReport: ContinuousClock.Instant?
    private var unreported = 0

    init(interval: Swift.Duration) { self.interval = interval }

    /// Adds one event at `now`; returns how many to report now, or nil to stay quiet.
    mutating func add(at now: ContinuousClock.Instant) -> Int? {
        unreported += 1
        if let lastReport, now - lastReport < interval { return nil }
        lastReport = now
        defer { unreported = 0 }
        return unreported
    }
}
