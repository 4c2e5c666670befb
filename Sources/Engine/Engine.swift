import CDNNL
import Synchronization

/// The CPU oneDNN engine: the device primitives run on. One per process is plenty.
public final class Engine: @unchecked Sendable {
    let handle: dnnl_engine_t
    private let live = Mutex<[(primitive: ObjectIdentifier, implementation: Implementation)]>([])

    /// A primitive made on this engine and the oneDNN implementation that runs it.
    public struct Implementation: Sendable, Equatable, CustomStringConvertible {
        /// What it computes, e.g. "convolution backward weights".
        public let operation: String
        /// oneDNN's name for the code, e.g. "jit:avx2", "brgconv:avx512_core_amx_bf16".
        public let name: String
        /// oneDNN's reference kernels ("ref:any", "ref_convolution"...) are correct but often 100×
        /// slower: on a supported tier ctd must never run one.
        public var isReference: Bool { Self.isReference(name) }
        public static func isReference(_ name: String) -> Bool { name.hasPrefix("ref") }
        public var description: String { "\(operation): \(name)" }
    }

    /// Every primitive on this engine that still exists, in the order they were made (one made
    /// only to be compared with another, and dropped, is not here).
    public var implementations: [Implementation] { live.withLock { $0.map(\.implementation) } }

    func record(_ implementation: Implementation, of primitive: ObjectIdentifier) {
        live.withLock { $0.append((primitive, implementation)) }
    }

    func forget(_ primitive: ObjectIdentifier) { live.withLock { $0.removeAll { $0.primitive == primitive } } }

    /// The CPU engine. Throws when oneDNN cannot start (it never should on x86-64).
    public init() throws(EngineError) {
        var engine: dnnl_engine_t?
        try check(dnnl_engine_create(&engine, dnnl_cpu, 0), "create CPU engine")
        handle = engine!
    }

    deinit { mustSucceed(dnnl_engine_destroy(handle), "destroy engine") }

    /// The oneDNN library version, e.g. "2.6.3".
    public static var libraryVersion: String {
        let version = dnnl_version()!.pointee
        return "\(version.major).\(version.minor).\(version.patch)"
    }
}

/// An in-order execution queue on an engine. Primitives run when executed; `wait()` blocks until
/// all queued work is done (on the CPU runtime execution is synchronous, but the contract is kept).
public final class Stream: @unchecked Sendable {
    let handle: dnnl_stream_t
    public let engine: Engine

    public init(engine: Engine) throws(EngineError) {
        var stream: dnnl_stream_t?
        // Flags are passed as the raw value: Swift imports the C enum as a struct, the C API takes an unsigned.
        try check(dnnl_stream_create(&stream, engine.handle, UInt32(dnnl_stream_default_flags.rawValue)), "create stream")
        handle = stream!
        self.engine = engine
    }

    deinit { mustSucceed(dnnl_stream_destroy(handle), "destroy stream") }

    public func wait() throws(EngineError) {
        try check(dnnl_stream_wait(handle), "wait for stream")
    }
}
