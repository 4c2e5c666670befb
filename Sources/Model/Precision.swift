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
}
