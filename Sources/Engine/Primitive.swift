import CDNNL

/// What a memory plays in a primitive's execution.
public enum Argument: Hashable, Sendable {
    case src, dst, weights, bias, mean, variance, scale, shift, workspace
    case diffSrc, diffDst, diffWeights, diffBias, diffScale, diffShift

    var raw: Int32 {
        switch self {
        case .src: return ctd_arg_src
        case .dst: return ctd_arg_dst
        case .weights: return ctd_arg_weights
        case .bias: return ctd_arg_bias
        case .mean: return ctd_arg_mean
        case .variance: return ctd_arg_variance
        case .scale: return ctd_arg_scale
        case .shift: return ctd_arg_shift
        case .workspace: return ctd_arg_workspace
        case .diffSrc: return ctd_arg_diff_src
        case .diffDst: return ctd_arg_diff_dst
        case .diffWeights: return ctd_arg_diff_weights
        case .diffBias: return ctd_arg_diff_bias
        case .diffScale: return ctd_arg_diff_scale
        case .diffShift: return ctd_arg_diff_shift
        }
    }
}

/// A compiled oneDNN operation (its primitive descriptor and primitive), ready to execute.
/// Made by the constructors in `Primitive+Operations.swift`.
public final class Primitive: @unchecked Sendable {
    let descriptor: dnnl_primitive_desc_t
    private let primitive: dnnl_primitive_t
    /// What this is, for messages and benchmark tables ("convolution forward", ...).
    public let name: String
    private let engine: Engine

    /// Takes ownership of `descriptor`; records the implementation oneDNN chose in `engine`.
    init(descriptor: dnnl_primitive_desc_t, name: String, engine: Engine) throws(EngineError) {
        var primitive: dnnl_primitive_t?
        do {
            try check(dnnl_primitive_create(&primitive, descriptor), "create \(name)")
        } catch {
            dnnl_primitive_desc_destroy(descriptor)
            throw error
        }
        self.descriptor = descriptor
        self.primitive = primitive!
        self.name = name
        self.engine = engine
        engine.record(Engine.Implementation(operation: name, name: implementation), of: ObjectIdentifier(self))
    }

    deinit {
        engine.forget(ObjectIdentifier(self))
        mustSucceed(dnnl_primitive_destroy(primitive), "destroy \(name)")
        mustSucceed(dnnl_primitive_desc_destroy(descriptor), "destroy \(name) descriptor")
    }

    /// The layout the primitive chose for an argument (e.g. `.dst` after asking for `.any`);
    /// nil when the primitive has no such argument.
    public func memoryDescriptor(for argument: Argument) -> MemoryDescriptor? {
        guard let md = dnnl_primitive_desc_query_md(descriptor, dnnl_query_exec_arg_md, argument.raw) else { return nil }
        return md.pointee.ndims == 0 ? nil : MemoryDescriptor(raw: md.pointee)
    }

    /// The implementation oneDNN picked, e.g. "jit:avx512_core" or "jit_bf16:avx512_core_bf16".
    public var implementation: String {
        var info: UnsafePointer<CChar>?
        mustSucceed(dnnl_primitive_desc_query(descriptor, dnnl_query_impl_info_str, 0, &info), "query implementation")
        return info.map { String(cString: $0) } ?? "?"
    }

    /// Whether oneDNN runs this with one of its reference kernels (correct, often 100× slower).
    public var isReference: Bool { Engine.Implementation.isReference(implementation) }

    /// Runs the primitive with the given memories.
    public func execute(on stream: Stream, _ arguments: [Argument: Memory]) throws(EngineError) {
        var args = arguments.map { dnnl_exec_arg_t(arg: $0.key.raw, memory: $0.value.handle) }
        try check(dnnl_primitive_execute(primitive, stream.handle, Int32(args.count), &args), "execute \(name)")
        // The memories must outlive the call; `arguments` holds them until here.
        withExtendedLifetime(arguments) {}
    }
}
