import Engine
import Foundation
import Logging

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
            // SIGTERM and SIGINT: a graceful shutdown (training suspends at its next step; its
            // checkpoints are already on disk). SIGHUP: the configuration is read again.
            try await daemon.serve(shutdownSignals: [.sigterm, .sigint], reloadOnHangup: true)
            return 0
        } catch {
            log.critical("ctd stopped: \(error)")
            return 1
        }
    }
}
