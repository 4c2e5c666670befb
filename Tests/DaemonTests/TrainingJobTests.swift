@testable import Daemon
import Engine
import Model
import Testing
import Training

/// A training run that fails for a reason that would recur is not retried (its job is parked at
/// once, and `ctctl status` shows the reason); a failure that may pass is retried once.
@Suite struct TrainingJobTests {
    func recurs(_ error: any Error) -> Bool { JobRunner.failureKind(error) == .recurring }

    @Test func failuresThatWouldRecurAreRecognised() throws {
        #expect(recurs(EngineError(operation: "create convolution forward", status: .unimplemented)))
        #expect(recurs(EngineError(operation: "create reorder", status: .invalidArguments)))
        #expect(recurs(TrainingError(reason: "invalid configuration: epochs must be at least 1")))
        #expect(recurs(PrecisionError(isa: .avx2)))
        #expect(recurs(try #require(Result { try Architecture(width: 8, height: 8, depth: 8) }.failureValue)))
        #expect(!recurs(EngineError(operation: "create memory", status: .outOfMemory)))
        #expect(!recurs(EngineError(operation: "execute convolution forward", status: .runtimeError)))
        #expect(!recurs(DaemonError(reason: "cannot read the cache")))
    }
}

extension Result {
    var failureValue: Failure? {
        if case .failure(let error) = self { return error }
        return nil
    }
}
