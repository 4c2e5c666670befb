import CDNNL

/// A oneDNN call that failed for a reason outside our control (out of memory, an operation this
/// CPU or library build does not implement). Statuses that can only mean a bug in ctd trap instead.
public struct EngineError: Error, CustomStringConvertible, Equatable, Sendable {
    /// What we were doing, e.g. "create convolution forward".
    public let operation: String
    public let status: Status

    public enum Status: String, Sendable {
        case outOfMemory = "out of memory"
        case unimplemented = "not implemented by this oneDNN build for these shapes and types"
        case invalidArguments = "invalid arguments"
        case runtimeError = "runtime error"
        case other = "failed"
    }

    public init(operation: String, status: Status) { (self.operation, self.status) = (operation, status) }

    public var description: String {
        // Which kernels exist depends on the CPU's tier: name it, so the cause is in the message.
        "oneDNN: \(operation): \(status.rawValue)" + (status == .unimplemented ? " on \(InstructionSet.effective.name) CPUs" : "")
    }
}

/// Checks a oneDNN status: success passes, environment failures throw, anything else traps.
@inline(__always)
func check(_ status: dnnl_status_t, _ operation: @autoclosure () -> String) throws(EngineError) {
    switch status {
    case dnnl_success: return
    case dnnl_out_of_memory: throw EngineError(operation: operation(), status: .outOfMemory)
    case dnnl_unimplemented: throw EngineError(operation: operation(), status: .unimplemented)
    case dnnl_invalid_arguments: throw EngineError(operation: operation(), status: .invalidArguments)
    case dnnl_runtime_error: throw EngineError(operation: operation(), status: .runtimeError)
    default: throw EngineError(operation: operation(), status: .other)
    }
}

/// For calls whose failure can only be a bug in ctd (destroying a handle we own, querying a
/// descriptor we built).
@inline(__always)
func mustSucceed(_ status: dnnl_status_t, _ operation: @autoclosure () -> String) {
    precondition(status == dnnl_success, "oneDNN: \(operation()) returned status \(status.rawValue): a bug in ctd's Engine")
}
