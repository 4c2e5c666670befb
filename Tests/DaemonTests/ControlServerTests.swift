@testable import Daemon
import Testing

@Suite struct ControlServerTests {
    /// A storm of refused clients is logged once a second, each line counting the refusals since.
    @Test func refusalsAreReportedAtMostOnceAnInterval() {
        var refusals = ThrottledCount(interval: .seconds(1) as Swift.Duration)
        let start = ContinuousClock.now
        var reports: [Int?] = []
        for tenth in 0..<25 { reports.append(refusals.add(at: start + .milliseconds(100 * tenth))) }
        // Reported at 0 s (the first), 1.0 s (ten since) and 2.0 s (ten more); quiet in between.
        #expect(reports.compactMap { $0 } == [1, 10, 10])
        #expect(reports[0] == 1 && reports[10] == 10 && reports[20] == 10)
        #expect(reports[24] == nil)
        // A refusal long after the storm is reported at once, counting the ones never reported.
        #expect(refusals.add(at: start + .seconds(60)) == 5)
    }
}
