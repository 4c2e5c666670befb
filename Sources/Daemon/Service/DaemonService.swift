import Engine
import Foundation
import Logging
import ServiceLifecycle
import UnixSignals

/// The daemon as a swift-service-lifecycle `Service`: SIGTERM and SIGINT start a graceful
/// shutdown (training suspends at its next step and checkpoints are already on disk), SIGHUP
/// reloads the configuration.
public struct DaemonService: Service {
    let daemon: Daemon

    public init(daemon: Daemon) { self.daemon = daemon }

    public func run() async throws {
        let daemon = self.daemon
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask {
                for await _ in await UnixSignalsSequence(trapping: .sighup) {
                    await daemon.reload()
                }
            }
            try await withGracefulShutdownHandler {
                try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
                    let thread = Thread {
                        do {
                            try daemon.run()
                            continuation.resume()
                        } catch {
                            continuation.resume(throwing: error)
                        }
                    }
                    thread.name = "watch"
                    thread.start()
                }
            } onGracefulShutdown: {
                daemon.stop()
            }
            group.cancelAll()
        }
    }
}

/// `ctd run`: loads the configuration, opens the state folder and runs until SIGTERM.
public enum DaemonMain {
    /// Exit status for a configuration that cannot be used (systemd does not restart on it).
    public static let configurationExitCode: Int32 = 64

    public static func run(loader: ConfigLoader) async -> Int32 {
        let config: DaemonConfig
        do {
            config = try await loader.load()
        } catch {
            FileHandle.standardError.write(Data("<3>ctd: \(error)\n".utf8))
            return configurationExitCode
        }
        let level = Logger.Level(configName: config.logLevel) ?? .info
        LoggingSystem.bootstrap { label in SystemdLogHandler(label: label, level: level) }
        let log = Logger(label: "ctd")
        do {
            let daemon = try Daemon(config: config, loader: loader, logger: log)
            log.info("ctd starting: state in \(config.stateDirectory)\(loader.file.map { ", config \($0)" } ?? ""), model \(config.training.width)x\(config.training.height)x\(config.training.depth); oneDNN \(Engine.libraryVersion) on \(InstructionSet.effective.name)\(InstructionSet.capSetting.map { " (\($0))" } ?? ""), precision \(config.precision.reason)")
            let group = ServiceGroup(services: [DaemonService(daemon: daemon)], gracefulShutdownSignals: [.sigterm, .sigint], logger: log)
            try await group.run()
            return 0
        } catch {
            log.critical("ctd stopped: \(error)")
            return 1
        }
    }
}
