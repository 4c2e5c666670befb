import Foundation
import Testing
@testable import Engine

/// The tier ctd reads is oneDNN's own: `ONEDNN_MAX_CPU_ISA` lowers it (CI runs the engine tests
/// under `AVX2` to play an AVX2-only server).
@Suite struct InstructionSetTests {
    @Test func theCapIsHonoured() throws {
        let cap = ProcessInfo.processInfo.environment["ONEDNN_MAX_CPU_ISA"]
        guard let cap, let capped = InstructionSet.allCases.first(where: { $0.name == cap }) else { return }
        #expect(InstructionSet.effective <= capped, "oneDNN runs \(InstructionSet.effective) under ONEDNN_MAX_CPU_ISA=\(cap)")
        #expect(InstructionSet.capSetting == "ONEDNN_MAX_CPU_ISA=\(cap)")
    }

    @Test func tiersAreOrderedAndNamedAsTheCapIs() {
        #expect(InstructionSet.avx2 < .avx512Core && .avx512Core < .avx512CoreBF16 && .avx512CoreBF16 < .avx512CoreAMX)
        #expect(InstructionSet.allCases.map(\.name).dropFirst() == ["AVX2", "AVX512_CORE", "AVX512_CORE_BF16", "AVX512_CORE_AMX"])
        #expect(!InstructionSet.avx512Core.hasNativeBF16 && InstructionSet.avx512CoreBF16.hasNativeBF16)
        #expect(!InstructionSet.avx2.hasAVX512 && InstructionSet.avx512Core.hasAVX512)
    }
}
