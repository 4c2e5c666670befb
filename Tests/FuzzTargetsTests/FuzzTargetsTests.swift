import Foundation
import FuzzTargets
import Testing

/// The fuzzed decoders: their seeds are valid, and every committed hostile input (hand-made by
/// scripts/make_fuzz_inputs.py, or a crash scripts/fuzz.sh found) gets a clean one-line verdict.
@Suite struct FuzzTargetsTests {
    static let targets = ["nifti", "checkpoint", "safetensors", "config", "control"]

    static func inputs(_ target: String) throws -> [(name: String, bytes: [UInt8])] {
        let folder = try #require(Bundle.module.resourceURL).appendingPathComponent("Inputs/\(target)")
        let names = try FileManager.default.contentsOfDirectory(atPath: folder.path).filter { !$0.hasPrefix(".") }.sorted()
        return try names.map { ($0, Array(try Data(contentsOf: folder.appendingPathComponent($0)))) }
    }

    static func verdict(_ target: String, _ bytes: [UInt8]) -> FuzzTargets.Verdict {
        switch target {
        case "nifti": FuzzTargets.nifti(bytes, scratchPath: FileManager.default.temporaryDirectory.appendingPathComponent("fuzz-\(UUID()).nii").path)
        case "checkpoint": FuzzTargets.checkpoint(bytes)
        case "safetensors": FuzzTargets.safetensorsHeader(bytes)
        case "config": FuzzTargets.configFile(bytes)
        default: FuzzTargets.controlRequests(bytes)
        }
    }

    @Test(arguments: targets) func seedsAreAccepted(target: String) throws {
        let seeds = try FuzzTargets.seeds(for: target)
        #expect(seeds.count >= 2)
        #expect(seeds.contains { if case .accepted = Self.verdict(target, $0.bytes) { true } else { false } })
        for seed in seeds {
            switch Self.verdict(target, seed.bytes) {
            case .accepted(let detail):
                if target == "control" { #expect(detail.hasPrefix("ok "), "\(seed.name): \(detail)") }
            case .rejected(let reason):
                // A small container whose tensors are not the model's: it gets past the container checks.
                #expect(["checkpoint", "safetensors"].contains(target) && reason.hasPrefix("unexpected tensor"), "\(target) seed \(seed.name): \(reason)")
            }
        }
    }

    @Test func unknownTargetIsAClearError() {
        #expect(throws: FuzzTargets.SeedError.self) { try FuzzTargets.seeds(for: "png") }
    }

    @Test(arguments: ["nifti", "checkpoint", "safetensors", "config"]) func hostileFilesAreRejectedInOneLine(target: String) throws {
        let inputs = try Self.inputs(target)
        #expect(inputs.count >= 8)
        for input in inputs {
            let verdict = Self.verdict(target, input.bytes)
            guard case .rejected(let reason) = verdict else { Issue.record("\(input.name) was accepted: \(verdict)"); continue }
            #expect(!reason.isEmpty && !reason.contains("\n"), "\(input.name): \(reason)")
        }
    }

    @Test func hostileRequestsGetErrorsNotCrashes() throws {
        for input in try Self.inputs("control") {
            switch Self.verdict("control", input.bytes) {
            case .rejected(let reason):
                #expect(input.bytes.count > 65536 && reason.contains("longer than"), "\(input.name): \(reason)")
            case .accepted(let verdicts):
                #expect(!verdicts.contains("ok "), "\(input.name) was taken as a request: \(verdicts)")
            }
        }
    }

    @Test func reasonsNameTheProblem() throws {
        let nifti = Dictionary(uniqueKeysWithValues: try Self.inputs("nifti"))
        let checkpoint = Dictionary(uniqueKeysWithValues: try Self.inputs("checkpoint"))
        func reason(_ verdict: FuzzTargets.Verdict) -> String {
            if case .rejected(let text) = verdict { return text.lowercased() }
            return "accepted"
        }
        #expect(reason(Self.verdict("nifti", try #require(nifti["gzip-bomb.nii.gz"]))).contains("gzip"))
        #expect(reason(Self.verdict("nifti", try #require(nifti["empty.nii"]))).contains("empty"))
        #expect(reason(Self.verdict("checkpoint", try #require(checkpoint["header-length-huge.safetensors"]))).contains("header claims"))
        #expect(reason(Self.verdict("checkpoint", try #require(checkpoint["shape-overflow.safetensors"]))).contains("absurdly large"))
        #expect(reason(Self.verdict("checkpoint", try #require(checkpoint["overlapping.safetensors"]))).contains("overlap"))
        let header = Dictionary(uniqueKeysWithValues: try Self.inputs("safetensors"))
        #expect(reason(Self.verdict("safetensors", try #require(header["newer-format.header"]))).contains("upgrade ctd"))
        #expect(reason(Self.verdict("safetensors", try #require(header["bf16-mismatch.header"]))).contains("needs 6 bytes"))
        let config = Dictionary(uniqueKeysWithValues: try Self.inputs("config"))
        #expect(reason(Self.verdict("config", try #require(config["misspelled-key.yaml"]))).contains("did you mean `retrain.min_new_labels`"))
        #expect(reason(Self.verdict("config", try #require(config["tab-indent.yaml"]))).contains("line 2"))
        #expect(reason(Self.verdict("config", try #require(config["bad-values.yaml"]))).contains("model.width"))
        #expect(reason(Self.verdict("config", try #require(config["alias-bomb.yaml"]))).contains("yaml aliases"))
        #expect(reason(Self.verdict("config", try #require(config["alias-key-bomb.yaml"]))).contains("yaml aliases"))
    }
}
