import CPoolKernels

/// 2×2×2 max pooling (stride 2) of one sample's piece of a float32 tensor blocked by 16 channels,
/// straight into its window of a larger pooled tensor in the same layout, and its gradient. Runs
/// on oneDNN's own OpenMP threads. Written for the first block's pieces (`ConvSlices` in Model):
/// there oneDNN's pooling took 55 ms per training step and its backward 71 ms; these take 12 and 13.
public enum BlockedMaxPool {
    /// Which of each window's 8 positions held its maximum, per pooled value.
    public final class Argmax {
        var bytes: [UInt8]
        public init(piece: MemoryDescriptor) {
            bytes = [UInt8](repeating: 0, count: Self.count(piece: piece.dims))
        }

        /// One byte per pooled value, channels padded to whole blocks of 16.
        static func count(piece d: [Int]) -> Int { (d[1] + 15) / 16 * 16 * (d[2] / 2) * (d[3] / 2) * (d[4] / 2) }
    }

    /// Tests: run the portable code even where the AVX-512 code would run.
    package static func usePortableCode(_ on: Bool) { ctd_pool_kernels_portable_only(on ? 1 : 0) }

    /// Whether a piece in `piece`'s layout can be pooled into a tensor in `pooled`'s.
    public static func supports(piece: MemoryDescriptor, pooled: MemoryDescriptor) -> Bool {
        piece.dims.count == 5 && pooled.dims.count == 5 && piece.dims[0] == 1 && piece.type == .f32 && pooled.type == .f32 &&
            piece == MemoryDescriptor(dims: piece.dims, layout: .channelBlocked16) &&
            pooled == MemoryDescriptor(dims: pooled.dims, layout: .channelBlocked16) &&
            piece.dims[1] == pooled.dims[1] && piece.dims[3] / 2 == pooled.dims[3] && piece.dims[4] / 2 == pooled.dims[4]
    }

    /// Pools `piece` into `pooled` at (`sample`, pooled x-slice `xOffset`), recording `argmax`.
    public static func forward(_ piece: Memory, into pooled: Memory, sample: Int, xOffset: Int, argmax: Argmax) {
        let (offset, cblockStride, xStride, d) = place(piece: piece.descriptor, pooled: pooled.descriptor, sample: sample, xOffset: xOffset)
        argmax.bytes.withUnsafeMutableBufferPointer { arg in
            precondition(arg.count == Argmax.count(piece: d), "argmax of another piece size")
            ctd_max_pool_16c(piece.buffer.assumingMemoryBound(to: Float.self), (d[1] + 15) / 16, d[2], d[3], d[4],
                             (pooled.buffer + offset).assumingMemoryBound(to: Float.self), cblockStride, xStride, arg.baseAddress!)
        }
    }

    /// The gradient of `piece` from the gradient of its window of the pooled tensor: each value
    /// goes to its window's maximum, all other positions get zero.
    public static func backward(_ pooledGradient: Memory, sample: Int, xOffset: Int, argmax: Argmax, into pieceGradient: Memory) {
        let (offset, cblockStride, xStride, d) = place(piece: pieceGradient.descriptor, pooled: pooledGradient.descriptor, sample: sample, xOffset: xOffset)
        argmax.bytes.withUnsafeBufferPointer { arg in
            precondition(arg.count == Argmax.count(piece: d), "argmax of another piece size")
            ctd_max_pool_16c_backward((pooledGradient.buffer + offset).assumingMemoryBound(to: Float.self), cblockStride, xStride,
                                      arg.baseAddress!, (d[1] + 15) / 16, d[2], d[3], d[4], pieceGradient.buffer.assumingMemoryBound(to: Float.self))
        }
    }

    /// Where the piece's window starts in the pooled buffer (bytes), the pooled strides between
    /// channel blocks and x-slices (floats), and the piece's dims.
    private static func place(piece: MemoryDescriptor, pooled: MemoryDescriptor, sample: Int, xOffset: Int) -> (Int, Int, Int, [Int]) {
        precondition(supports(piece: piece, pooled: pooled), "pooling \(piece) into \(pooled)")
        let d = piece.dims
        let window = pooled.window(dims: [1, d[1], d[2] / 2, d[3] / 2, d[4] / 2], offsets: [sample, 0, xOffset, 0, 0])
        let strides = pooled.strides
        return (window.byteOffset, strides[1], strides[2], d)
    }
}
