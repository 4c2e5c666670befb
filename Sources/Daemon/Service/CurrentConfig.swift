import Foundation

/// The running configuration, replaced whole by a reload. Its own lock, taken for a copy and never
/// held while working, so it can be read from inside any other lock.
final class CurrentConfig: @unchecked Sendable {
    private let lock = NSLock()
    private var config: DaemonConfig

    init(_ config: DaemonConfig) { self.config = config }

    var value: DaemonConfig {
        get { lock.withLock { config } }
        set { lock.withLock { config = newValue } }
    }
}
