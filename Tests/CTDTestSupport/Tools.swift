import Foundation

/// Runs the built `ctd` / `ctctl` executables, which sit beside the test bundle in the build folder.
public enum Tools {
    public struct Result {
        public let status: Int32
        public let stdout: String
        public let stderr: String
    }

    public static let buildFolder: String = {
        let exe = (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments[0]
        return URL(fileURLWithPath: exe).deletingLastPathComponent().path
    }()

    /// Runs `tool` with `arguments` and waits for it to exit.
    /// With `absolute`, `tool` is a path to any program rather than one of ours.
    public static func run(_ tool: String, _ arguments: [String], environment: [String: String]? = nil, absolute: Bool = false) throws -> Result {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: absolute ? tool : buildFolder + "/" + tool)
        process.arguments = arguments
        if let environment { process.environment = environment }
        let out = Pipe(), err = Pipe()
        process.standardOutput = out
        process.standardError = err
        try process.run()
        // Read both pipes concurrently so a chatty child cannot fill one and block.
        // The semaphore orders the reader's write before our read (polling isFinished did not).
        nonisolated(unsafe) var errData = Data()
        let errRead = DispatchSemaphore(value: 0)
        Thread {
            errData = err.fileHandleForReading.readDataToEndOfFile()
            errRead.signal()
        }.start()
        let outData = out.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        errRead.wait()
        return Result(status: process.terminationStatus,
                      stdout: String(decoding: outData, as: UTF8.self),
                      stderr: String(decoding: errData, as: UTF8.self))
    }
}
