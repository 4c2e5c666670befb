import CDNNL
import Glibc

/// The x86-64 instruction-set tier oneDNN dispatches to: the CPU's own, lowered by
/// `ONEDNN_MAX_CPU_ISA` when that is set. Everything in ctd with a CPU-specific path (precision
/// `auto`, the first block's layout, the pooling kernel) reads this one value, so capping oneDNN
/// makes a machine play a lower tier faithfully.
public enum InstructionSet: Int, Sendable, Comparable, CaseIterable, CustomStringConvertible {
    /// Below AVX2 (SSE4.1, AVX): ctd runs, slowly; no server of the last decade is here.
    case belowAVX2 = 0
    /// AVX2 + FMA: AMD EPYC Naples/Rome/Milan, Xeons before Skylake-SP.
    case avx2
    /// AVX-512 without bf16 arithmetic: Skylake-SP and Cascade Lake Xeons.
    case avx512Core
    /// AVX-512 with AVX512_BF16: Cooper Lake Xeons, AMD Zen 4 and later.
    case avx512CoreBF16
    /// AMX tiles with bf16: Sapphire Rapids Xeons and later.
    case avx512CoreAMX

    /// What oneDNN dispatches to in this process (read once; oneDNN fixes it at first use).
    public static let effective: InstructionSet = from(dnnl_get_effective_cpu_isa())

    static func from(_ isa: dnnl_cpu_isa_t) -> InstructionSet {
        // The values are bit sets: each tier contains the bits of the ones below.
        let bits = isa.rawValue
        func has(_ tier: dnnl_cpu_isa_t) -> Bool { bits & tier.rawValue == tier.rawValue }
        if has(dnnl_cpu_isa_avx512_core_amx) { return .avx512CoreAMX }
        if has(dnnl_cpu_isa_avx512_core_bf16) { return .avx512CoreBF16 }
        if has(dnnl_cpu_isa_avx512_core) { return .avx512Core }
        if has(dnnl_cpu_isa_avx2) { return .avx2 }
        return .belowAVX2
    }

    /// The name `ONEDNN_MAX_CPU_ISA` takes for this tier (and ctd prints), e.g. "AVX512_CORE_BF16".
    public var name: String {
        switch self {
        case .belowAVX2: "below AVX2"
        case .avx2: "AVX2"
        case .avx512Core: "AVX512_CORE"
        case .avx512CoreBF16: "AVX512_CORE_BF16"
        case .avx512CoreAMX: "AVX512_CORE_AMX"
        }
    }

    public var description: String { name }

    /// Whether oneDNN has native bf16 convolutions here (AVX512_BF16 instructions or AMX tiles).
    public var hasNativeBF16: Bool { self >= .avx512CoreBF16 }

    /// Whether oneDNN's float32 kernels work on 16-channel blocks (AVX-512), not 8 (AVX2).
    public var hasAVX512: Bool { self >= .avx512Core }

    /// Whether `ONEDNN_MAX_CPU_ISA` (or its older name) capped oneDNN below the CPU's own tier.
    public static var capSetting: String? {
        for variable in ["ONEDNN_MAX_CPU_ISA", "DNNL_MAX_CPU_ISA"] {
            if let value = getenv(variable).map({ String(cString: $0) }), !value.isEmpty { return "\(variable)=\(value)" }
        }
        return nil
    }

    public static func < (a: InstructionSet, b: InstructionSet) -> Bool { a.rawValue < b.rawValue }
}
