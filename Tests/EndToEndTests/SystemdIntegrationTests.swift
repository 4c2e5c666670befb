import CTDTestSupport
import Foundation
import Glibc
import Testing

/// What systemd sees of the daemon: sd_notify messages on a datagram socket named by
/// NOTIFY_SOCKET (as systemd passes it), SIGHUP reloading the configuration, SIGTERM a clean
/// exit, and exit status 64 for a configuration that cannot work.
@Suite(.serialized) struct SystemdIntegrationTests {
    let folder = TemporaryFolder()

    /// A bound AF_UNIX datagram socket, as systemd's notify socket is.
    final class NotifySocket {
        let path: String
        let descriptor: Int32

        init(path: String) {
            self.path = path
            descriptor = socket(AF_UNIX, Int32(SOCK_DGRAM.rawValue), 0)
            var address = sockaddr_un()
            address.sun_family = sa_family_t(AF_UNIX)
            withUnsafeMutableBytes(of: &address.sun_path) { raw in
                for (index, byte) in path.utf8.prefix(raw.count - 1).enumerated() { raw[index] = byte }
            }
            _ = withUnsafePointer(to: &address) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(descriptor, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
            }
            var timeout = timeval(tv_sec: 0, tv_usec: 200_000)
            setsockopt(descriptor, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        }

        deinit { close(descriptor) }

        /// Every message received until `enough` says so or `timeout` seconds pass.
        func messages(timeout: Double, until enough: ([String]) -> Bool) -> [String] {
            var received: [String] = []
            let deadline = Date().addingTimeInterval(timeout)
            var buffer = [UInt8](repeating: 0, count: 4096)
            while !enough(received), Date() < deadline {
                let count = recv(descriptor, &buffer, buffer.count, 0)
                if count > 0 { received.append(String(decoding: buffer[0..<count], as: UTF8.self)) }
            }
            return received
        }
    }

    @Test func notifiesReadyStatusReloadingAndStopping() throws {
        let notify = NotifySocket(path: folder.path + "/notify.sock")
        let config = folder.write(Array("predict:\n  threshold: 0.5\nwatch:\n  settle: 1s\n".utf8), to: "ctd.yaml")
        let daemon = DaemonProcess(stateDirectory: folder.path + "/state",
                                   settings: ["--config", config, "--model-width", "48", "--model-height", "48", "--model-depth", "48"],
                                   environment: ["NOTIFY_SOCKET": notify.path, "WATCHDOG_USEC": "1000000"])
        try daemon.start()
        let startup = notify.messages(timeout: 30) { $0.contains { $0.contains("READY=1") } && $0.contains("WATCHDOG=1") }
        let ready = try #require(startup.first { $0.contains("READY=1") }, "no READY=1; got \(startup); log:\n\(daemon.log)")
        #expect(ready.contains("STATUS=0 labelled scans"), "\(ready)")
        #expect(startup.contains("WATCHDOG=1"), "no watchdog ping within 30 s: \(startup)")

        // Change a live setting and one that needs a restart, then SIGHUP.
        try Data("predict:\n  threshold: 0.8\nwatch:\n  settle: 1s\ningest:\n  workers: 2\n".utf8).write(to: URL(fileURLWithPath: config))
        daemon.signal(SIGHUP)
        let reload = notify.messages(timeout: 20) { $0.contains { $0.contains("RELOADING=1") } && $0.contains { $0.hasPrefix("READY=1") } }
        #expect(reload.contains { $0.contains("RELOADING=1") && $0.contains("MONOTONIC_USEC=") }, "\(reload)")
        #expect(DaemonProcess.wait(10) { daemon.log.contains("changed") && daemon.log.contains("predict.threshold") }, "\(daemon.log)")
        #expect(daemon.log.contains("ingest.workers change only after a restart"), "\(daemon.log)")

        // A broken file on reload keeps the running configuration.
        try Data("predict: [\n".utf8).write(to: URL(fileURLWithPath: config))
        daemon.signal(SIGHUP)
        #expect(DaemonProcess.wait(10) { daemon.log.contains("reload failed, keeping the running configuration") }, "\(daemon.log)")

        #expect(daemon.stop() == 0, "\(daemon.log)")
        #expect(notify.messages(timeout: 5) { $0.contains { $0.contains("STOPPING=1") } }.contains { $0.contains("STOPPING=1") })
    }

    @Test func aBadConfigurationExitsWith64AndSaysWhy() throws {
        let daemon = DaemonProcess(stateDirectory: folder.path + "/state", settings: ["--model-width", "32", "--watch-settle", "later"])
        try daemon.start()
        #expect(DaemonProcess.wait(20) { !daemon.isRunning })
        #expect(daemon.stop() == 64)
        let log = daemon.log
        #expect(log.contains("model input") || log.contains("46"), "\(log)")
        #expect(log.contains("watch.settle: \"later\" is not a duration"), "\(log)")
        #expect(log.split(separator: "\n").count == 1, "one line: \(log)")
    }
}
