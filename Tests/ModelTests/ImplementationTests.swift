import Engine
import Testing
@testable import Model

/// Every primitive the training and prediction networks (and its explanations) create is one of oneDNN's JIT (or brgemm)
/// kernels, never a reference one ("ref:any" ran the first block's weight gradient at 2.8 s a
/// piece on AVX2). Run under each `ONEDNN_MAX_CPU_ISA` cap by CI, so every tier is checked.
@Suite struct ImplementationTests {
    @Test(arguments: Precision.allCases.filter { $0.runs(on: .effective) })
    func noPrimitiveIsAReferenceKernel(precision: Precision) throws {
        for architecture in [Architecture.seed, try Architecture(width: 48, height: 46, depth: 47)] {
            let engine = try Engine()
            let training = try Network(architecture: architecture, batchSize: 2, trainable: true, precision: precision, engine: engine)
            let predicting = try Network(architecture: architecture, batchSize: 1, trainable: false, precision: precision, engine: engine)
            defer { withExtendedLifetime((training, predicting)) {} }
            _ = try predicting.gradCAM(for: [Float](repeating: 0.5, count: predicting.sampleSize))  // makes the explanation's backward data
            let references = engine.implementations.filter(\.isReference)
            #expect(references.isEmpty, "\(architecture) \(precision) on \(InstructionSet.effective): \(references)")
            // Four blocks of convolutions, pooling and normalisation, forward and backward, were made.
            #expect(engine.implementations.filter { $0.operation.hasPrefix("convolution") }.count >= 12)
        }
    }

    /// The tier the first block's layout and the pooling kernel follow is oneDNN's own.
    @Test func theFirstBlockUsesALayoutWithAJITWeightGradient() {
        #expect(Precision.f32.convolutionLayout(ofBlock: 0, on: .avx2) == .channelsLast)
        #expect(Precision.f32.convolutionLayout(ofBlock: 0, on: .avx512Core) == .any)
        #expect(Precision.bf16.convolutionLayout(ofBlock: 0, on: .avx512CoreAMX) == .any)
        #expect(Precision.bf16.convolutionLayout(ofBlock: 1, on: .avx512CoreAMX) == .channelsLast)
        #expect(Precision.f32.convolutionLayout(ofBlock: 2, on: .avx2) == .any)
        #expect(BlockedMaxPool.Code.fastest(on: .avx2) == .avx2)
        #expect(BlockedMaxPool.Code.fastest(on: .avx512CoreBF16) == .avx512)
    }
}

/// `auto` picks bf16 only where the CPU multiplies it natively; an explicit bf16 is refused where
/// oneDNN has no bf16 convolutions, with a sentence naming the tier and the fix.
@Suite struct PrecisionSettingTests {
    @Test func autoFollowsTheTier() throws {
        let expected: [(InstructionSet, Precision)] = [(.avx2, .f32), (.avx512Core, .f32), (.avx512CoreBF16, .bf16), (.avx512CoreAMX, .bf16)]
        for (isa, precision) in expected {
            let resolved = try PrecisionSetting.auto.resolve(on: isa).get()
            #expect(resolved.precision == precision, "\(isa)")
            #expect(resolved.reason.hasPrefix("auto: \(precision)"), "\(resolved.reason)")
            #expect(resolved.reason.contains(isa.name))
        }
    }

    @Test func anExplicitChoiceIsKeptWhereItRuns() throws {
        #expect(try PrecisionSetting.f32.resolve(on: .avx512CoreAMX).get().precision == .f32)
        #expect(try PrecisionSetting.bf16.resolve(on: .avx512CoreBF16).get().precision == .bf16)
        let emulated = try PrecisionSetting.bf16.resolve(on: .avx512Core).get()
        #expect(emulated.precision == .bf16 && emulated.reason.contains("emulates"))
    }

    @Test func bf16IsRefusedOnAVX2WithTheFix() {
        guard case .failure(let error) = PrecisionSetting.bf16.resolve(on: .avx2) else {
            Issue.record("bf16 on AVX2 was accepted")
            return
        }
        #expect(error.description.contains("runs AVX2 here"))
        #expect(error.description.hasSuffix("set the precision to auto or f32"))
        #expect(!error.description.contains("\n"))
    }
}
