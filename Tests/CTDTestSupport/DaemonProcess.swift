import Foundation

/// A real `ctd run` child process on a state folder, for end-to-end tests: start it, wait for
/// what it should produce, stop it with SIGTERM or kill it with SIGKILL, read its log.
public final class DaemonProcess {
    public let stateDirectory: String
    public let arguments: [String]
    public let logFile: String
    public let environment: [String: String]
    private var process: Process?

    public init(stateDirectory: String, settings: [String], environment: [String: String] = [:]) {
        self.stateDirectory = stateDirectory
        arguments = ["run", "--state-dir", stateDirectory] + settings
        logFile = stateDirectory + ".log"
        self.environment = environment
    }

    public func start() throws {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: Tools.buildFolder + "/ctd")
        process.arguments = arguments
        process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 }
        if !FileManager.default.fileExists(atPath: logFile) { FileManager.default.createFile(atPath: logFile, contents: nil) }
        let log = try FileHandle(forWritingTo: URL(fileURLWithPath: logFile))
        try log.seekToEnd()
        process.standardError = log
        process.standardOutput = log
        try process.run()
        self.process = process
    }

    public var isRunning: Bool { process?.isRunning ?? false }

    /// Sends a signal (SIGHUP to reload, say).
    public func signal(_ number: Int32) {
        if let process { Foundation.kill(process.processIdentifier, number) }
    }

    /// SIGTERM, then waits for the exit; returns the exit status.
    @discardableResult
    public func stop(timeout: Double = 60) -> Int32? {
        guard let process else { return nil }
        process.terminate()
        let deadline = Date().addingTimeInterval(timeout)
        while process.isRunning, Date() < deadline { usleep(20_000) }
        guard !process.isRunning else { kill(); return nil }
        self.process = nil
        return process.terminationStatus
    }

    /// SIGKILL: no chance to clean up, as in a crash or an OOM kill.
    public func kill() {
        guard let process else { return }
        Foundation.kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
        self.process = nil
    }

    public var log: String { (try? String(contentsOfFile: logFile, encoding: .utf8)) ?? "" }

    /// Polls `condition` every 50 ms until it holds or `timeout` seconds pass.
    @discardableResult
    public static func wait(_ timeout: Double, until condition: () -> Bool) -> Bool {
        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline {
            if condition() { return true }
            usleep(50_000)
        }
        return condition()
    }

    deinit { kill() }
}
