import Scheduling
import Testing

@Suite struct JobFailureTests {
    @Test func aFullDiskCostsNoAttempt() {
        for kind: JobFailure.Kind in [.outOfSpace, .transient, .recurring] {
            #expect(JobFailure.action(kind, attempts: 99, maxAttempts: 3, room: false) == .waitForSpace)
        }
    }

    @Test func transientFailuresAreRetriedUpToTheLimitThenParked() {
        #expect(JobFailure.action(.transient, attempts: 1, maxAttempts: 3, room: true) == .retry)
        #expect(JobFailure.action(.transient, attempts: 2, maxAttempts: 3, room: true) == .retry)
        #expect(JobFailure.action(.transient, attempts: 3, maxAttempts: 3, room: true) == .park)
        // Space that came back by the time the failure is judged: an ordinary attempt.
        #expect(JobFailure.action(.outOfSpace, attempts: 1, maxAttempts: 3, room: true) == .retry)
    }

    @Test func aFailureThatWouldRecurIsParkedAtOnce() {
        #expect(JobFailure.action(.recurring, attempts: 1, maxAttempts: 3, room: true) == .park)
    }
}
