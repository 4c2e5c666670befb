import Foundation
import Logging

/// swift-log to stderr, one line per message with sd-daemon's `<N>` priority prefix, which
/// journald turns into the message's priority (and a terminal shows as is).
public struct SystemdLogHandler: LogHandler {
    public var logLevel: Logger.Level
    public var metadata: Logger.Metadata = [:]
    private let label: String
    private static let lock = NSLock()

    public init(label: String, level: Logger.Level = .info) {
        self.label = label
        logLevel = level
    }

    public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    public static func priority(_ level: Logger.Level) -> Int {
        switch level {
        case .trace, .debug: 7
        case .info: 6
        case .notice: 5
        case .warning: 4
        case .error: 3
        case .critical: 2
        }
    }

    public func log(event: LogEvent) {
        var merged = metadata
        if let extra = event.metadata { merged.merge(extra) { $1 } }
        let fields = merged.isEmpty ? "" : " " + merged.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: " ")
        // A message must stay one line: the journal splits on newlines.
        let text = "\(event.message)\(fields)".replacingOccurrences(of: "\n", with: " ")
        let line = "<\(Self.priority(event.level))>\(text)\n"
        Self.lock.withLock { FileHandle.standardError.write(Data(line.utf8)) }
    }
}

extension Logger.Level {
    public init?(configName: String) {
        switch configName {
        case "debug": self = .debug
        case "info": self = .info
        case "notice": self = .notice
        case "warning": self = .warning
        case "error": self = .error
        default: return nil
        }
    }
}
