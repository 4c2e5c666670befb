import CPoolKernels

/// 2×2×2 max pooling (stride 2) of one sample's piece of a float32 tensor whose channels are
/// stored fastest in blocks — oneDNN's 16-channel blocks (what its AVX-512 kernels choose) or
/// channels-last (one block of all channels, what the first block uses on AVX2) — straight into
/// its window of a larger pooled tensor in the same layout, and its gradient. Runs on oneDNN's
/// own OpenMP threads. Written for the first block's pieces (`ConvSlices` in Model): there
/// oneDNN's pooling took 55 ms per training step and its backward 71 ms; these take 12 and 13.
public enum BlockedMaxPool {
    /// Which of each window's 8 positions held its maximum, per pooled value.
    public final class Argmax {
        var bytes: [UInt8]
        /// - Precondition: `supports(piece:pooled:)` holds for `piece`.
        public init(piece: MemoryDescriptor) {
            bytes = [UInt8](repeating: 0, count: Self.count(piece: piece.dims, block: BlockedMaxPool.block(of: piece)!))
        }

        /// One byte per pooled value, channels padded to whole blocks.
        static func count(piece d: [Int], block: Int) -> Int { (d[1] + block - 1) / block * block * (d[2] / 2) * (d[3] / 2) * (d[4] / 2) }
    }

    /// The code that runs: vector instructions as wide as oneDNN's own, or portable C.
    public enum Code: Int32, Sendable, CaseIterable {
        case portable = 1
        case avx2 = 8
        case avx512 = 16

        /// The widest code `isa` allows (pass `InstructionSet.effective`, so `ONEDNN_MAX_CPU_ISA`
        /// caps this too). The C side falls back further if the block does not fit or the CPU lacks it.
        public static func fastest(on isa: InstructionSet) -> Code {
            isa.hasAVX512 ? .avx512 : isa >= .avx2 ? .avx2 : .portable
        }
    }

    /// Channels per block in a layout the kernels take: 16 for 16-channel blocks, C for
    /// channels-last; nil for any other layout.
    static func block(of d: MemoryDescriptor) -> Int? {
        guard d.dims.count == 5, d.type == .f32 else { return nil }
        if d == MemoryDescriptor(dims: d.dims, layout: .channelBlocked16) { return 16 }
        if d == MemoryDescriptor(dims: d.dims, layout: .channelsLast), d.dims[1] % 8 == 0 { return d.dims[1] }
        return nil
    }

    /// Whether a piece in `piece`'s layout can be pooled into a tensor in `pooled`'s.
    public static func supports(piece: MemoryDescriptor, pooled: MemoryDescriptor) -> Bool {
        guard piece.dims.count == 5, pooled.dims.count == 5, piece.dims[0] == 1, let block = block(of: piece) else { return false }
        return block == Self.block(of: pooled) && piece.dims[1] == pooled.dims[1] && piece.dims[3] / 2 == pooled.dims[3] &&
            piece.dims[4] / 2 == pooled.dims[4]
    }

    /// Pools `piece` into `pooled` at (`sample`, pooled x-slice `xOffset`), recording `argmax`.
    public static func forward(_ piece: Memory, into pooled: Memory, sample: Int, xOffset: Int, argmax: Argmax, code: Code) {
        let p = place(piece: piece.descriptor, pooled: pooled.descriptor, sample: sample, xOffset: xOffset)
        argmax.bytes.withUnsafeMutableBufferPointer { arg in
            precondition(arg.count == Argmax.count(piece: p.dims, block: p.block), "argmax of another piece size")
            ctd_max_pool_blocked(piece.buffer.assumingMemoryBound(to: Float.self), p.blocks, p.block, p.dims[2], p.dims[3], p.dims[4],
                                 (pooled.buffer + p.offset).assumingMemoryBound(to: Float.self), p.blockStride, p.xStride,
                                 arg.baseAddress!, code.rawValue)
        }
    }

    /// The gradient of `piece` from the gradient of its window of the pooled tensor: each value
    /// goes to its window's maximum, all other positions get zero.
    public static func backward(_ pooledGradient: Memory, sample: Int, xOffset: Int, argmax: Argmax, into pieceGradient: Memory, code: Code) {
        let p = place(piece: pieceGradient.descriptor, pooled: pooledGradient.descriptor, sample: sample, xOffset: xOffset)
        argmax.bytes.withUnsafeBufferPointer { arg in
            precondition(arg.count == Argmax.count(piece: p.dims, block: p.block), "argmax of another piece size")
            ctd_max_pool_blocked_backward((pooledGradient.buffer + p.offset).assumingMemoryBound(to: Float.self), p.blockStride, p.xStride,
                                          arg.baseAddress!, p.blocks, p.block, p.dims[2], p.dims[3], p.dims[4],
                                          pieceGradient.buffer.assumingMemoryBound(to: Float.self), code.rawValue)
        }
    }

    /// Where the piece's window starts in the pooled buffer (bytes), the pooled strides between
    /// channel blocks and x-slices (floats), the piece's dims, its channel blocks and their width.
    private static func place(piece: MemoryDescriptor, pooled: MemoryDescriptor, sample: Int, xOffset: Int)
        -> (offset: Int, blockStride: Int, xStride: Int, dims: [Int], blocks: Int, block: Int) {
        precondition(supports(piece: piece, pooled: pooled), "pooling \(piece) into \(pooled)")
        let d = piece.dims, block = block(of: piece)!
        let window = pooled.window(dims: [1, d[1], d[2] / 2, d[3] / 2, d[4] / 2], offsets: [sample, 0, xOffset, 0, 0])
        let strides = pooled.strides
        // Channels-last is one block: its stride between blocks is never used.
        return (window.byteOffset, block == 16 ? strides[1] : 0, strides[2], d, (d[1] + block - 1) / block, block)
    }
}
