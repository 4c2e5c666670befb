import CDNNL

/// Element types the engine uses.
public enum DataType: Sendable {
    case f32
    case bf16

    var raw: dnnl_data_type_t { self == .f32 ? dnnl_f32 : dnnl_bf16 }
    public var byteWidth: Int { self == .f32 ? 4 : 2 }
}

/// The shape, element type and memory layout of a tensor (a value: copy freely).
public struct MemoryDescriptor: @unchecked Sendable, Equatable, CustomStringConvertible {
    var raw: dnnl_memory_desc_t

    /// Layouts a descriptor can be made with.
    public enum Layout: Sendable {
        /// Let the primitive choose (blocked layouts such as nCdhw16c): for primitive creation only.
        case any
        /// Row-major over the given dims: [N, C, X, Y, Z] is NCDHW with the last dim fastest.
        case plain
        /// Channels fastest ([N, X, Y, Z, C] in memory), the layout AMX kernels want.
        case channelsLast
        /// Channels in blocks of 16, fastest within a block ([N, C/16, X, Y, Z, 16]: oneDNN's
        /// nCdhw16c, what its AVX-512 float32 kernels choose).
        case channelBlocked16
        /// Channels in blocks of 8 (nCdhw8c): what oneDNN's AVX2 float32 kernels choose.
        case channelBlocked8
    }

    /// - Precondition: 1 to 5 positive dims.
    public init(dims: [Int], type: DataType = .f32, layout: Layout = .plain) {
        precondition((1...5).contains(dims.count) && dims.allSatisfy { $0 > 0 }, "bad tensor dims \(dims)")
        var desc = dnnl_memory_desc_t()
        let tag: dnnl_format_tag_t
        switch layout {
        case .any: tag = dnnl_format_tag_any
        case .plain: tag = [dnnl_a, dnnl_ab, dnnl_abc, dnnl_abcd, dnnl_abcde][dims.count - 1]
        case .channelsLast: tag = [dnnl_a, dnnl_ab, dnnl_acb, dnnl_acdb, dnnl_acdeb][dims.count - 1]
        case .channelBlocked16:
            precondition(dims.count >= 3, "channel blocks need spatial dims")
            tag = [dnnl_aBc16b, dnnl_aBcd16b, dnnl_aBcde16b][dims.count - 3]
        case .channelBlocked8:
            precondition(dims.count >= 3, "channel blocks need spatial dims")
            tag = [dnnl_aBc8b, dnnl_aBcd8b, dnnl_aBcde8b][dims.count - 3]
        }
        mustSucceed(withDims(dims) { dnnl_memory_desc_init_by_tag(&desc, Int32(dims.count), $0, type.raw, tag) },
                    "init memory descriptor \(dims)")
        raw = desc
    }

    init(raw: dnnl_memory_desc_t) { self.raw = raw }

    public var dims: [Int] {
        var copy = raw
        return withUnsafeBytes(of: &copy.dims) { Array($0.bindMemory(to: Int64.self).prefix(Int(raw.ndims))).map(Int.init) }
    }

    public var type: DataType { raw.data_type == dnnl_bf16 ? .bf16 : .f32 }

    /// Bytes a buffer with this layout needs (blocked layouts pad channels).
    public var byteCount: Int {
        var copy = raw
        return dnnl_memory_desc_get_size(&copy)
    }

    /// Bytes from the first element to just past the last one: `byteCount` for a whole tensor,
    /// less for a `window` (whose strides are its parent's).
    public var spanBytes: Int {
        guard raw.format_kind == dnnl_blocked else { return byteCount }
        var copy = raw
        let blocking = copy.format_desc.blocking
        let (strides, blocks, indices) = withUnsafeBytes(of: &copy.format_desc.blocking) { _ in
            (Self.values(blocking.strides), Self.values(blocking.inner_blks), Self.values(blocking.inner_idxs))
        }
        var blockOf = [Int](repeating: 1, count: dims.count), innerElements = 1
        for b in 0..<Int(blocking.inner_nblks) {
            blockOf[indices[b]] *= blocks[b]
            innerElements *= blocks[b]
        }
        var last = 0
        for (d, extent) in dims.enumerated() { last += ((extent + blockOf[d] - 1) / blockOf[d] - 1) * strides[d] }
        return (last + innerElements) * type.byteWidth
    }

    /// Elements between consecutive (outer) indices of each dim, for a blocked layout.
    public var strides: [Int] {
        precondition(raw.format_kind == dnnl_blocked, "strides of a layout that is not concrete")
        return Array(Self.values(raw.format_desc.blocking.strides).prefix(dims.count))
    }

    private static func values(_ tuple: dnnl_dims_t) -> [Int] {
        withUnsafeBytes(of: tuple) { Array($0.bindMemory(to: Int64.self)).map(Int.init) }
    }

    /// Elements in the logical tensor.
    public var elementCount: Int { dims.reduce(1, *) }

    /// Whether this is the plain row-major layout of its dims.
    public var isPlain: Bool { self == MemoryDescriptor(dims: dims, type: type, layout: .plain) }

    /// The same dims in the other element type, in the plain layout or `.any`.
    public func with(type: DataType, layout: Layout = .plain) -> MemoryDescriptor {
        MemoryDescriptor(dims: dims, type: type, layout: layout)
    }

    /// The part of a tensor in this layout that starts at `offsets` and spans `dims`, without a
    /// copy: a descriptor with this layout's strides, and the byte offset of its first element
    /// (lay it over the tensor's buffer with `Memory.view`). Reorders read and write such windows.
    /// - Precondition: the window lies inside the tensor (and, for blocked layouts, starts on a block).
    public func window(dims: [Int], offsets: [Int]) -> (descriptor: MemoryDescriptor, byteOffset: Int) {
        precondition(dims.count == self.dims.count && offsets.count == dims.count, "window \(dims) at \(offsets) of \(self)")
        var parent = raw
        var sub = dnnl_memory_desc_t()
        mustSucceed(withDims(dims) { d in withDims(offsets) { o in dnnl_memory_desc_init_submemory(&sub, &parent, d, o) } },
                    "window \(dims) at \(offsets) of \(self)")
        let byteOffset = Int(sub.offset0) * type.byteWidth
        sub.offset0 = 0
        return (MemoryDescriptor(raw: sub), byteOffset)
    }

    public static func == (a: MemoryDescriptor, b: MemoryDescriptor) -> Bool {
        var x = a.raw, y = b.raw
        return dnnl_memory_desc_equal(&x, &y) != 0
    }

    public var description: String { "\(dims)\(type == .bf16 ? " bf16" : "")\(isPlain ? "" : " (blocked)")" }
}

/// Calls `body` with a `dnnl_dims_t`-sized array (12 × Int64) holding `values`, zero-padded.
/// (An array, not the imported tuple: a pointer to a tuple's first element does not cover the rest.)
func withDims<R>(_ values: [Int], _ body: (UnsafePointer<Int64>) -> R) -> R {
    precondition(values.count <= 12)
    let padded = values.map(Int64.init) + [Int64](repeating: 0, count: 12 - values.count)
    return padded.withUnsafeBufferPointer { body($0.baseAddress!) }
}
