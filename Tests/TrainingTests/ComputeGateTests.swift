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
        stepStarted.wait()
        let predictor = Thread { gate.urgent { order.add("prediction") } }
        predictor.start()
        // Let the prediction queue up behind step 1, then end step 1.
        while !gate.hasUrgentWaiting { usleep(1000) }
        releaseStep.signal()
        while order.entries.count < 3 { usleep(1000) }
        #expect(order.entries == ["step 1", "prediction", "step 2"])
    }
}

final class OrderLog: @unchecked Sendable {
    private let lock = NSLock()
    private var list: [String] = []
    func add(_ entry: String) { lock.withLock { list.append(entry) } }
    var entries: [String] { lock.withLock { list } }
}
