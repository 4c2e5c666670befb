import CDNNL

/// A tensor's buffer on the engine, laid out as its descriptor says. Owns its (64-byte aligned)
/// bytes; they are freed with the object.
public final class Memory: @unchecked Sendable {
    public let descriptor: MemoryDescriptor
    let handle: dnnl_memory_t
    let buffer: UnsafeMutableRawPointer
    /// Bytes in the buffer.
    public let byteCount: Int
    /// For a view: the memory whose bytes it uses (kept alive by the view; it frees them).
    private let owner: Memory?

    /// A zero-filled buffer for `descriptor`. Throws when the memory cannot be had.
    public init(_ descriptor: MemoryDescriptor, engine: Engine) throws(EngineError) {
        precondition(descriptor.raw.format_kind != dnnl_format_kind_any, "Memory needs a concrete layout, not .any")
        self.descriptor = descriptor
        byteCount = max(descriptor.byteCount, 1)
        buffer = .allocate(byteCount: byteCount, alignment: 64)
        buffer.initializeMemory(as: UInt8.self, repeating: 0, count: byteCount)
        var memory: dnnl_memory_t?
        var desc = descriptor.raw
        do {
            try check(dnnl_memory_create(&memory, &desc, engine.handle, buffer), "create memory \(descriptor)")
        } catch {
            buffer.deallocate()
            throw error
        }
        handle = memory!
        owner = nil
    }

    private init(view descriptor: MemoryDescriptor, of owner: Memory, byteOffset: Int, engine: Engine) throws(EngineError) {
        self.descriptor = descriptor
        self.owner = owner
        byteCount = descriptor.spanBytes
        buffer = owner.buffer + byteOffset
        var memory: dnnl_memory_t?
        var desc = descriptor.raw
        try check(dnnl_memory_create(&memory, &desc, engine.handle, buffer), "create a view \(descriptor)")
        handle = memory!
    }

    /// `descriptor` laid over this memory's bytes from `byteOffset` on, without a copy (e.g. one
    /// sample's slices of a batch, or a `MemoryDescriptor.window`).
    /// - Precondition: the view lies inside this memory.
    public func view(_ descriptor: MemoryDescriptor, byteOffset: Int, engine: Engine) throws(EngineError) -> Memory {
        precondition(byteOffset >= 0 && byteOffset + descriptor.spanBytes <= byteCount,
                     "view of \(descriptor.spanBytes) bytes at \(byteOffset) outside a buffer of \(byteCount)")
        return try Memory(view: descriptor, of: self, byteOffset: byteOffset, engine: engine)
    }

    deinit {
        mustSucceed(dnnl_memory_destroy(handle), "destroy memory")
        if owner == nil { buffer.deallocate() }
    }

    /// Sets every byte to zero.
    public func zero() {
        buffer.initializeMemory(as: UInt8.self, repeating: 0, count: byteCount)
    }

    /// Fills a plain-layout tensor from float32 values (rounded to bf16 for a bf16 tensor).
    /// - Precondition: plain layout and `values.count == descriptor.elementCount`.
    public func write(_ values: [Float]) {
        precondition(descriptor.isPlain && values.count == descriptor.elementCount,
                     "write needs a plain tensor of \(descriptor.elementCount) values, got \(values.count)")
        switch descriptor.type {
        case .f32:
            values.withUnsafeBytes { buffer.copyMemory(from: $0.baseAddress!, byteCount: $0.count) }
        case .bf16:
            let out = buffer.bindMemory(to: UInt16.self, capacity: values.count)
            for (index, value) in values.enumerated() { out[index] = BFloat16.bits(value) }
        }
    }

    /// The values of a plain-layout tensor as float32.
    public func read() -> [Float] {
        precondition(descriptor.isPlain, "read needs a plain tensor; reorder first")
        let count = descriptor.elementCount
        switch descriptor.type {
        case .f32:
            return Array(UnsafeBufferPointer(start: buffer.assumingMemoryBound(to: Float.self), count: count))
        case .bf16:
            let bits = buffer.assumingMemoryBound(to: UInt16.self)
            return (0..<count).map { BFloat16.float(bits[$0]) }
        }
    }

    /// Direct access to a float32 buffer in whatever layout it has (padding included), for
    /// element-wise work done in Swift (optimizer steps, small reductions). Within the package only.
    package func withFloats<R>(_ body: (UnsafeMutableBufferPointer<Float>) throws -> R) rethrows -> R {
        precondition(descriptor.type == .f32, "withFloats needs a float32 tensor")
        return try body(UnsafeMutableBufferPointer(start: buffer.assumingMemoryBound(to: Float.self), count: byteCount / 4))
    }
}

/// bfloat16 conversion: the top half of a float32, rounded to nearest even.
enum BFloat16 {
    static func bits(_ value: Float) -> UInt16 {
        let bits = value.bitPattern
        if value.isNaN { return UInt16(bits >> 16) | 0x40 }
        let rounding = 0x7FFF + ((bits >> 16) & 1)
        return UInt16((bits &+ rounding) >> 16)
    }

    static func float(_ bits: UInt16) -> Float { Float(bitPattern: UInt32(bits) << 16) }
}
