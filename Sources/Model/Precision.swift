import Engine

/// The arithmetic of the convolutions and activations. Parameters, optimizer state and the loss
/// stay float32 either way ("mixed precision"): bf16 only changes what flows between layers.
public enum Precision: String, Sendable, Codable, CaseIterable {
    case f32
    case bf16

    /// What block `index` computes in. With bf16 the first block stays float32: with a single
    /// input channel its convolutions have nothing for AMX to multiply over (bf16 was 5× slower
    /// there on the weight gradient), and float32 keeps the most precision where it is cheapest.
    func forBlock(_ index: Int) -> Precision { self == .bf16 && index == 0 ? .f32 : self }

    var activationType: DataType { self == .f32 ? .f32 : .bf16 }

    /// bf16 activations are kept channels-last: that is the layout oneDNN's AMX convolutions
    /// (brgconv) take, about 10× faster than the blocked bf16 kernels on CPUs that have AMX. For
    /// f32 oneDNN's own choice (blocked nCdhw16c) is as fast as any.
    var activationLayout: MemoryDescriptor.Layout { self == .f32 ? .any : .channelsLast }

    /// The layout block `index` computes its convolution output in, on `isa`. The first block
    /// (float32, one input channel) uses oneDNN's 16-channel blocks on AVX-512, where they are
    /// fastest; on AVX2 oneDNN would pick 8-channel blocks, for which its only weight gradient of
    /// a one-channel input is the reference kernel (2.8 s a piece), so there it is channels-last,
    /// whose JIT weight gradient took 124 ms a step (and for one channel, channels-last input is
    /// the plain scan: no reorder).
    func convolutionLayout(ofBlock index: Int, on isa: InstructionSet) -> MemoryDescriptor.Layout {
        index == 0 && !isa.hasAVX512 ? .channelsLast : forBlock(index).activationLayout
    }

    /// The layout block `index` needs its input converted to, when the previous block's output
    /// is in another; nil: it takes it as it comes. On AVX2 oneDNN's float32 convolutions of a
    /// channels-last input with many channels exist only as reference kernels, so the first
    /// block's channels-last output is reordered into 8-channel blocks (and its gradient back).
    func inputLayout(ofBlock index: Int, on isa: InstructionSet) -> MemoryDescriptor.Layout? {
        index > 0 && forBlock(index) == .f32 && !isa.hasAVX512 ? .channelBlocked8 : nil
    }
}
