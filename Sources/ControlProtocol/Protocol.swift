import Foundation
import Version

/// The control protocol between `ctctl` and `ctd run`: newline-delimited JSON over a Unix stream
/// socket. A client sends one `Request` per line; the daemon answers each with one or more
/// `Response` lines carrying the same `id` — several only for commands that stream progress
/// (`retrain` with `wait`), the last one with `done: true`. Append-only: fields are added, never
/// renamed or removed, and `v` changes only for an incompatible change.
public enum ControlProtocol {
    public static let version = 1
    /// A request line longer than this is refused and the connection closed.
    public static let maxRequestBytes = 64 * 1024
    /// A response line longer than this is a daemon bug; the client stops reading.
    public static let maxResponseBytes = 16 * 1024 * 1024
    /// The socket under systemd (RuntimeDirectory=ctd).
    public static let systemdSocket = "/run/ctd/ctd.sock"
    /// The state folder's socket when no runtime folder is given.
    public static let socketName = "ctd.sock"
}

/// Every command, with whether it changes anything (mutating commands are logged with the
/// caller's identity and may be restricted to a group).
public enum Command: String, Codable, Sendable, CaseIterable {
    case status, scans, scan, runs, run, metrics, predict
    case nextToLabel = "next_to_label"
    /// The training set's scans and their cache tensors, streamed in pages (`ExportListing`).
    case export
    case retrain, cancel, promote, rollback, pause, resume, reload
    /// A checkpoint trained elsewhere (its descriptor travels beside the line), evaluated and
    /// recorded as a run; `promotion` says whether it may become the active model.
    case importModel = "import"

    public var isMutating: Bool {
        switch self {
        case .status, .scans, .scan, .runs, .run, .metrics, .predict, .nextToLabel, .export: false
        case .retrain, .cancel, .promote, .rollback, .pause, .resume, .reload, .importModel: true
        }
    }
}

public struct Request: Codable, Sendable, Equatable {
    public var v: Int
    public var id: String
    public var command: String
    /// `scans`: filters and a limit. `scan`: a scan id, hash (or its start) or file name.
    /// `run`/`promote`: a run id. `retrain`: whether to stream progress until the run ends.
    /// `predict`, `import`: the file's name (its descriptor travels beside the line, SCM_RIGHTS).
    public var label: String?
    public var state: String?
    public var limit: Int?
    public var target: String?
    public var wait: Bool?
    /// `import`: "guarded" (promote if not worse than the active model), "forced", or nil (record only).
    public var promotion: Promotion?

    public enum Promotion: String, Codable, Sendable { case guarded, forced }

    public init(id: String, command: Command, label: String? = nil, state: String? = nil, limit: Int? = nil, target: String? = nil,
                wait: Bool? = nil, promotion: Promotion? = nil) {
        v = ControlProtocol.version
        self.id = id
        self.command = command.rawValue
        (self.label, self.state, self.limit, self.target, self.wait, self.promotion) = (label, state, limit, target, wait, promotion)
    }
}

/// What went wrong, as a code a script can test and a sentence a person can act on.
public struct ControlError: Codable, Sendable, Equatable, Error, CustomStringConvertible {
    public enum Code: String, Codable, Sendable {
        case badRequest = "bad_request"
        case tooLarge = "too_large"
        case unsupportedVersion = "unsupported_version"
        case unknownCommand = "unknown_command"
        case notFound = "not_found"
        case nothingToRetrain = "nothing_to_retrain"
        case permissionDenied = "permission_denied"
        case busy
        case failed
    }

    public var code: Code
    public var message: String

    public init(_ code: Code, _ message: String) { (self.code, self.message) = (code, message) }
    public var description: String { message }
}

public struct Response: Codable, Sendable, Equatable {
    public var v: Int
    public var id: String
    /// False for a progress line of a streaming command; true on the last (or only) line.
    public var done: Bool
    public var result: JSONValue?
    public var error: ControlError?

    public init(id: String, done: Bool = true, result: JSONValue? = nil, error: ControlError? = nil) {
        v = ControlProtocol.version
        (self.id, self.done, self.result, self.error) = (id, done, result, error)
    }
}

/// Any JSON value.
public enum JSONValue: Codable, Sendable, Equatable {
    case string(String), number(Double), bool(Bool), array([JSONValue]), object([String: JSONValue]), null

    public init(from decoder: any Decoder) throws {
        let c = try decoder.singleValueContainer()
        if c.decodeNil() { self = .null }
        else if let b = try? c.decode(Bool.self) { self = .bool(b) }
        else if let n = try? c.decode(Double.self) { self = .number(n) }
        else if let s = try? c.decode(String.self) { self = .string(s) }
        else if let a = try? c.decode([JSONValue].self) { self = .array(a) }
        else { self = .object(try c.decode([String: JSONValue].self)) }
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.singleValueContainer()
        switch self {
        case .string(let s): try c.encode(s)
        case .number(let n): try c.encode(n)
        case .bool(let b): try c.encode(b)
        case .array(let a): try c.encode(a)
        case .object(let o): try c.encode(o)
        case .null: try c.encodeNil()
        }
    }

    /// Any Encodable as a JSON value (through JSONEncoder), for results.
    public static func encoding<T: Encodable>(_ value: T) throws -> JSONValue {
        try JSONDecoder().decode(JSONValue.self, from: ControlCoding.encoder.encode(value))
    }

    /// The value decoded as `T` (through JSONDecoder), for clients.
    public func decode<T: Decodable>(_ type: T.Type) throws -> T {
        try JSONDecoder().decode(T.self, from: ControlCoding.encoder.encode(self))
    }

    public static func object(json text: String?) -> [String: JSONValue] {
        guard let text, let value = try? JSONDecoder().decode([String: JSONValue].self, from: Data(text.utf8)) else { return [:] }
        return value
    }
}

public enum ControlCoding {
    public static var encoder: JSONEncoder {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        encoder.nonConformingFloatEncodingStrategy = .convertToString(positiveInfinity: "Infinity", negativeInfinity: "-Infinity", nan: "NaN")
        return encoder
    }

    /// One line: the JSON and a newline (JSONEncoder never writes a raw newline inside).
    public static func line<T: Encodable>(_ value: T) throws -> [UInt8] {
        Array(try encoder.encode(value)) + [0x0a]
    }

    /// Decodes a request line, with the error a client should get when it is not one.
    public static func request(from line: [UInt8]) -> Result<Request, ControlError> {
        guard let object = try? JSONSerialization.jsonObject(with: Data(line)) as? [String: Any] else {
            return .failure(ControlError(.badRequest, "not a JSON object: send one request per line"))
        }
        let id = object["id"] as? String ?? ""
        guard let version = object["v"] as? Int else { return .failure(ControlError(.badRequest, "request \(id): no protocol version \"v\"")) }
        guard version == ControlProtocol.version else {
            return .failure(ControlError(.unsupportedVersion, "protocol version \(version) is not supported (this daemon speaks \(ControlProtocol.version)): use the ctctl that came with it"))
        }
        do {
            return .success(try JSONDecoder().decode(Request.self, from: Data(line)))
        } catch {
            return .failure(ControlError(.badRequest, "request \(id): malformed fields (\(error))"))
        }
    }
}

/// Splits a byte stream into lines, refusing any longer than `limit` before buffering it all.
public struct LineBuffer: Sendable {
    public let limit: Int
    private var pending: [UInt8] = []

    public init(limit: Int) { self.limit = limit }

    public enum Failure: Error, Equatable { case tooLong }

    /// Adds bytes; returns the complete lines (without their newline).
    public mutating func append(_ bytes: some Collection<UInt8>) throws(Failure) -> [[UInt8]] {
        var lines: [[UInt8]] = []
        for byte in bytes {
            if byte == 0x0a {
                lines.append(pending)
                pending.removeAll(keepingCapacity: true)
            } else {
                guard pending.count < limit else { throw .tooLong }
                pending.append(byte)
            }
        }
        return lines
    }

    public var isEmpty: Bool { pending.isEmpty }
}
