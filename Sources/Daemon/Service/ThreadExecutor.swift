import Foundation

/// A task executor that runs its jobs on one thread: the thread that calls `run(until:)`.
/// The daemon's service group runs here, so callers that block Swift's shared pool (a test
/// waiting on a condition, a benchmark) can never starve its start or its shutdown.
final class ThreadExecutor: TaskExecutor, @unchecked Sendable {
    private let condition = NSCondition()
    private var jobs: [UnownedJob] = []
    private var finished = false

    func enqueue(_ job: consuming ExecutorJob) {
        let job = UnownedJob(job)
        condition.withLock {
            jobs.append(job)
            condition.signal()
        }
    }

    /// Runs jobs on the calling thread until `finish()`.
    func run() {
        while let job = next() { job.runSynchronously(on: asUnownedTaskExecutor()) }
    }

    func finish() {
        condition.withLock {
            finished = true
            condition.signal()
        }
    }

    private func next() -> UnownedJob? {
        condition.withLock {
            while jobs.isEmpty && !finished { condition.wait() }
            return jobs.isEmpty ? nil : jobs.removeFirst()
        }
    }
}
