import Foundation
import ServiceLifecycle
import UnixSignals

/// A stage of the pipeline with its own thread: `run` works until `stop`, then returns.
protocol Worker: AnyObject, Sendable {
    var name: String { get }
    func run() throws
    func stop()
}

/// A worker as a swift-service-lifecycle `Service`: its loop runs on a thread of its own (work
/// is blocking: file I/O, SQLite, oneDNN), and a graceful shutdown or a cancellation stops it.
struct WorkerService: Service, CustomStringConvertible {
    let worker: any Worker

    var description: String { worker.name }

    func run() async throws {
        let worker = self.worker
        try await withTaskCancellationHandler {
            try await withGracefulShutdownHandler {
                try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
                    let thread = Thread {
                        do {
                            try worker.run()
                            continuation.resume()
                        } catch {
                            continuation.resume(throwing: error)
                        }
                    }
                    thread.name = worker.name
                    thread.start()
                }
            } onGracefulShutdown: {
                worker.stop()
            }
        } onCancel: {
            worker.stop()
        }
    }
}

/// SIGHUP reloads the configuration, until the group shuts down.
struct HangupService: Service {
    let reload: @Sendable () async -> Void

    func run() async throws {
        for await _ in await UnixSignalsSequence(trapping: .sighup).cancelOnGracefulShutdown() {
            await reload()
        }
    }
}
