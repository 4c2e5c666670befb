import CDNNL

/// Constructors for the operations the seed's model needs. Descriptors passed as `.any` let
/// oneDNN pick the fastest layout; query the result with `memoryDescriptor(for:)`.
extension Primitive {
    /// Whether a forward primitive keeps what its backward pass needs (workspaces, statistics).
    public enum Mode: Sendable {
        case training, inference
        var raw: dnnl_prop_kind_t { self == .training ? dnnl_forward_training : dnnl_forward_inference }
    }

    /// A 3-D convolution, stride 1, no padding ("valid"), with an optional fused ReLU.
    /// src [N, C, X, Y, Z], weights [O, C, kx, ky, kz], bias [O], dst [N, O, X-kx+1, ...].
    public static func convolutionForward(engine: Engine, src: MemoryDescriptor, weights: MemoryDescriptor,
                                          bias: MemoryDescriptor, dst: MemoryDescriptor, mode: Mode,
                                          relu: Bool) throws(EngineError) -> Primitive {
        var desc = dnnl_convolution_desc_t()
        var (s, w, b, d) = (src.raw, weights.raw, bias.raw, dst.raw)
        try check(withDims([1, 1, 1]) { st in withDims([0, 0, 0]) { pad in
            dnnl_convolution_forward_desc_init(&desc, mode.raw, dnnl_convolution_direct, &s, &w, &b, &d, st, pad, pad)
        } }, "describe convolution forward")
        let attributes = try Attributes(relu: relu)
        return try create(&desc, attributes: attributes, engine: engine, hint: nil, name: "convolution forward")
    }

    /// The gradient of a convolution's input. Not needed for the first layer (its input is the scan).
    public static func convolutionBackwardData(engine: Engine, diffSrc: MemoryDescriptor, weights: MemoryDescriptor,
                                               diffDst: MemoryDescriptor, forward: Primitive) throws(EngineError) -> Primitive {
        var desc = dnnl_convolution_desc_t()
        var (s, w, d) = (diffSrc.raw, weights.raw, diffDst.raw)
        try check(withDims([1, 1, 1]) { st in withDims([0, 0, 0]) { pad in
            dnnl_convolution_backward_data_desc_init(&desc, dnnl_convolution_direct, &s, &w, &d, st, pad, pad)
        } }, "describe convolution backward data")
        return try create(&desc, attributes: nil, engine: engine, hint: forward, name: "convolution backward data")
    }

    /// The gradients of a convolution's weights and bias.
    public static func convolutionBackwardWeights(engine: Engine, src: MemoryDescriptor, diffWeights: MemoryDescriptor,
                                                  diffBias: MemoryDescriptor, diffDst: MemoryDescriptor,
                                                  forward: Primitive) throws(EngineError) -> Primitive {
        var desc = dnnl_convolution_desc_t()
        var (s, w, b, d) = (src.raw, diffWeights.raw, diffBias.raw, diffDst.raw)
        try check(withDims([1, 1, 1]) { st in withDims([0, 0, 0]) { pad in
            dnnl_convolution_backward_weights_desc_init(&desc, dnnl_convolution_direct, &s, &w, &b, &d, st, pad, pad)
        } }, "describe convolution backward weights")
        return try create(&desc, attributes: nil, engine: engine, hint: forward, name: "convolution backward weights")
    }

    /// 3-D max pooling with a 2×2×2 window and stride 2, no padding (each axis n → ⌊n/2⌋).
    public static func maxPoolForward(engine: Engine, src: MemoryDescriptor, dst: MemoryDescriptor, mode: Mode) throws(EngineError) -> Primitive {
        var desc = dnnl_pooling_v2_desc_t()
        var (s, d) = (src.raw, dst.raw)
        try check(withDims([2, 2, 2]) { t in withDims([0, 0, 0]) { z in
            dnnl_pooling_v2_forward_desc_init(&desc, mode.raw, dnnl_pooling_max, &s, &d, t, t, z, z, z)
        } }, "describe max pooling forward")
        return try create(&desc, attributes: nil, engine: engine, hint: nil, name: "max pooling forward")
    }

    /// The gradient of max pooling, routed to each window's maximum (recorded in the forward workspace).
    public static func maxPoolBackward(engine: Engine, diffSrc: MemoryDescriptor, diffDst: MemoryDescriptor,
                                       forward: Primitive) throws(EngineError) -> Primitive {
        var desc = dnnl_pooling_v2_desc_t()
        var (s, d) = (diffSrc.raw, diffDst.raw)
        try check(withDims([2, 2, 2]) { t in withDims([0, 0, 0]) { z in
            dnnl_pooling_v2_backward_desc_init(&desc, dnnl_pooling_max, &s, &d, t, t, z, z, z)
        } }, "describe max pooling backward")
        return try create(&desc, attributes: nil, engine: engine, hint: forward, name: "max pooling backward")
    }

    /// Batch normalization with a learned scale (gamma) and shift (beta). Training uses the batch's
    /// statistics and outputs them (`.mean`, `.variance`); inference uses the given running ones.
    public static func batchNormForward(engine: Engine, data: MemoryDescriptor, epsilon: Float, mode: Mode) throws(EngineError) -> Primitive {
        var desc = dnnl_batch_normalization_desc_t()
        var d = data.raw
        var flags = dnnl_use_scale.rawValue | dnnl_use_shift.rawValue
        if mode == .inference { flags |= dnnl_use_global_stats.rawValue }
        try check(dnnl_batch_normalization_forward_desc_init(&desc, mode.raw, &d, epsilon, flags), "describe batch normalization forward")
        return try create(&desc, attributes: nil, engine: engine, hint: nil, name: "batch normalization forward")
    }

    /// The gradients of batch normalization's input, scale and shift.
    public static func batchNormBackward(engine: Engine, diffData: MemoryDescriptor, data: MemoryDescriptor, epsilon: Float,
                                         forward: Primitive) throws(EngineError) -> Primitive {
        var desc = dnnl_batch_normalization_desc_t()
        var (dd, d) = (diffData.raw, data.raw)
        let flags = dnnl_use_scale.rawValue | dnnl_use_shift.rawValue
        try check(dnnl_batch_normalization_backward_desc_init(&desc, dnnl_backward, &dd, &d, epsilon, flags), "describe batch normalization backward")
        return try create(&desc, attributes: nil, engine: engine, hint: forward, name: "batch normalization backward")
    }

    /// ReLU forward (stand-alone; the model fuses it into the convolution instead).
    public static func reluForward(engine: Engine, data: MemoryDescriptor, mode: Mode) throws(EngineError) -> Primitive {
        var desc = dnnl_eltwise_desc_t()
        var d = data.raw
        try check(dnnl_eltwise_forward_desc_init(&desc, mode.raw, dnnl_eltwise_relu_use_dst_for_bwd, &d, 0, 0), "describe ReLU forward")
        return try create(&desc, attributes: nil, engine: engine, hint: nil, name: "ReLU forward")
    }

    /// ReLU's gradient computed from its *output* (`.dst`), which the fused convolution keeps:
    /// diff_src = diff_dst where dst > 0, else 0. In place (diffSrc may be diffDst) is allowed.
    public static func reluBackward(engine: Engine, diffData: MemoryDescriptor, data: MemoryDescriptor) throws(EngineError) -> Primitive {
        let forward = try reluForward(engine: engine, data: data, mode: .training)
        var desc = dnnl_eltwise_desc_t()
        var (dd, d) = (diffData.raw, data.raw)
        try check(dnnl_eltwise_backward_desc_init(&desc, dnnl_eltwise_relu_use_dst_for_bwd, &dd, &d, 0, 0), "describe ReLU backward")
        return try create(&desc, attributes: nil, engine: engine, hint: forward, name: "ReLU backward")
    }

    /// Copies a tensor between layouts and/or element types (f32 ↔ bf16).
    public static func reorder(engine: Engine, from src: MemoryDescriptor, to dst: MemoryDescriptor) throws(EngineError) -> Primitive {
        var pd: dnnl_primitive_desc_t?
        var (s, d) = (src.raw, dst.raw)
        try check(dnnl_reorder_primitive_desc_create(&pd, &s, engine.handle, &d, engine.handle, nil), "describe reorder \(src) → \(dst)")
        return try Primitive(descriptor: pd!, name: "reorder \(src) → \(dst)", engine: engine)
    }

    private static func create<Desc>(_ desc: inout Desc, attributes: Attributes?, engine: Engine, hint: Primitive?,
                                     name: String) throws(EngineError) -> Primitive {
        var pd: dnnl_primitive_desc_t?
        try check(withUnsafePointer(to: &desc) { op in
            dnnl_primitive_desc_create(&pd, UnsafeRawPointer(op), attributes?.handle, engine.handle, hint?.descriptor)
        }, "create \(name)")
        return try Primitive(descriptor: pd!, name: name, engine: engine)
    }
}

/// Primitive attributes: here only the fused ReLU post-op.
private final class Attributes {
    let handle: dnnl_primitive_attr_t?

    init(relu: Bool) throws(EngineError) {
        guard relu else { handle = nil; return }
        var attr: dnnl_primitive_attr_t?
        var postOps: dnnl_post_ops_t?
        try check(dnnl_primitive_attr_create(&attr), "create attributes")
        defer { if let postOps { dnnl_post_ops_destroy(postOps) } }
        try check(dnnl_post_ops_create(&postOps), "create post-ops")
        try check(dnnl_post_ops_append_eltwise(postOps, 1, dnnl_eltwise_relu, 0, 0), "append ReLU post-op")
        try check(dnnl_primitive_attr_set_post_ops(attr, postOps), "set post-ops")
        handle = attr
    }

    deinit { if let handle { dnnl_primitive_attr_destroy(handle) } }
}
