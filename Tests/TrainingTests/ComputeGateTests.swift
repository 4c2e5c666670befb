import CTDTestSupport
import Foundation
import Testing
import Training

@Suite struct ComputeGateTests {
    /// A prediction that arrives while a training step runs goes before the next step.
    @Test func urgentWorkGoesBeforeTheNextBackgroundStep() async throws {
        let gate = ComputeGate()
        let order = OrderLog()
        let stepStarted = DispatchSemaphore(value: 0)
        let releaseStep = DispatchSemaphore(value: 0)
        let trainer = Thread {
            gate.background { order.add("step 1"); stepStarted.signal(); releaseStep.wait() }
            gate.background { order.add("step 2") }
        }
        trainer.start()
        // Every wait has a deadline: a regression fails the test instead of hanging the suite.
        try #require(stepStarted.wait(timeout: .now() + 10) == .success)
        let predictor = Thread { gate.urgent { order.add("prediction") } }
        predictor.start()
        // Let the prediction queue up behind step 1, then end step 1.
        try #require(DaemonProcess.wait(10) { gate.hasUrgentWaiting })
        releaseStep.signal()
        #expect(DaemonProcess.wait(10) { order.entries.count == 3 })
        #expect(order.entries == ["step 1", "prediction", "step 2"])
    }
}

final class OrderLog: @unchecked Sendable {
    private let lock = NSLock()
    private var list: [String] = []
    func add(_ entry: String) { lock.withLock { list.append(entry) } }
    var entries: [String] { lock.withLock { list } }
}
