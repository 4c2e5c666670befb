@testable import Daemon
import Engine
import Model
import Testing
import Training

/// A training run that fails for a reason that would recur is not retried (its job is parked at
/// once, and `ctctl status` shows the reason); a failure that may pass is retried once.
@Suite struct TrainingJobTests {
    @Test func failuresThatWouldRecurAreRecognised() throws {
        #expect(TrainingJob.willRecur(EngineError(operation: "create convolution forward", status: .unimplemented)))
        #expect(TrainingJob.willRecur(EngineError(operation: "create reorder", status: .invalidArguments)))
        #expect(TrainingJob.willRecur(TrainingError(reason: "invalid configuration: epochs must be at least 1")))
        #expect(TrainingJob.willRecur(PrecisionError(isa: .avx2)))
        #expect(TrainingJob.willRecur(try #require(Result { try Architecture(width: 8, height: 8, depth: 8) }.failureValue)))
        #expect(!TrainingJob.willRecur(EngineError(operation: "create memory", status: .outOfMemory)))
        #expect(!TrainingJob.willRecur(EngineError(operation: "execute convolution forward", status: .runtimeError)))
        #expect(!TrainingJob.willRecur(DaemonError(reason: "cannot read the cache")))
    }
}

extension Result {
    var failureValue: Failure? {
        if case .failure(let error) = self { return error }
        return nil
    }
}
