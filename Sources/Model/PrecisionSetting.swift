import Engine

/// What a person asks for (`model.precision`, `ctd train --precision`, `ctd bench engine
/// --precision`): a precision, or `auto` for the fastest one this CPU runs. Resolved once, before
/// any work, by `resolve(on:)`, so an impossible choice is refused at the configuration check
/// and never fails a training run.
public enum PrecisionSetting: String, Sendable, Codable, CaseIterable, CustomStringConvertible {
    case auto
    case f32
    case bf16

    public var description: String { rawValue }

    /// The precision to run and why, or a refusal that names the CPU's tier and the fix.
    public func resolve(on isa: InstructionSet) -> Result<ResolvedPrecision, PrecisionError> {
        switch self {
        case .f32:
            return .success(ResolvedPrecision(precision: .f32, isa: isa, reason: "f32 as configured"))
        case .bf16 where isa.hasNativeBF16:
            return .success(ResolvedPrecision(precision: .bf16, isa: isa, reason: "bf16 as configured; \(isa.name) multiplies bf16 natively"))
        case .bf16 where Precision.bf16.runs(on: isa):
            return .success(ResolvedPrecision(precision: .bf16, isa: isa, reason: "bf16 as configured; \(isa.name) has no bf16 instructions, so oneDNN emulates them (about 2.7× slower than f32 here: auto would choose f32)"))
        case .bf16:
            return .failure(PrecisionError(isa: isa))
        case .auto where isa.hasNativeBF16:
            return .success(ResolvedPrecision(precision: .bf16, isa: isa, reason: "auto: bf16, since \(isa.name) multiplies bf16 natively"))
        case .auto where isa.hasAVX512:
            return .success(ResolvedPrecision(precision: .f32, isa: isa, reason: "auto: f32, since \(isa.name) has no bf16 instructions (oneDNN's emulated bf16 was 2.7× slower)"))
        case .auto:
            return .success(ResolvedPrecision(precision: .f32, isa: isa, reason: "auto: f32, since oneDNN has no bf16 convolutions on \(isa.name)"))
        }
    }

    /// What `auto` resolves to (it always can).
    public static func automatic(on isa: InstructionSet = .effective) -> ResolvedPrecision {
        guard case .success(let resolved) = PrecisionSetting.auto.resolve(on: isa) else { preconditionFailure("auto always resolves") }
        return resolved
    }

    /// The resolution on the CPU this process runs on (`ONEDNN_MAX_CPU_ISA` included).
    public func resolved() -> Result<ResolvedPrecision, PrecisionError> { resolve(on: .effective) }
}

/// A precision chosen for this CPU, with the sentence that says why (logged at start, shown by
/// `ctctl status`, kept in run.json, checkpoints and benchmark reports).
public struct ResolvedPrecision: Sendable, Equatable {
    public let precision: Precision
    /// The tier it was chosen for.
    public let isa: InstructionSet
    public let reason: String
}

/// bf16 asked for on a CPU where oneDNN has no bf16 convolutions.
public struct PrecisionError: Error, Equatable, CustomStringConvertible {
    public let isa: InstructionSet
    public init(isa: InstructionSet) { self.isa = isa }
    public var description: String {
        "precision bf16 needs a CPU with AVX-512 (natively: AVX512_BF16 or AMX), but oneDNN runs \(isa.name) here"
            + (InstructionSet.capSetting.map { " (capped by \($0))" } ?? "")
            + ": set the precision to auto or f32"
    }
}

extension Precision {
    /// Whether oneDNN 2.6 runs this precision on `isa`: bf16 convolutions need AVX-512 (native
    /// with AVX512_BF16 or AMX, emulated on plain AVX512_CORE); on AVX2 it has none.
    public func runs(on isa: InstructionSet) -> Bool { self == .f32 || isa.hasAVX512 }
}
