import CTDTestSupport
import Daemon
import Engine
import Foundation
import Testing

@Suite struct ConfigTests {
    static let repository = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().path
    let folder = TemporaryFolder()

    @Test func theShippedFileDocumentsEveryKeyWithTheBuiltInDefaults() async throws {
        let file = Self.repository + "/config/ctd.yaml"
        let loaded = try await ConfigLoader(file: file, flags: [:], environment: [:]).load()
        #expect(loaded == DaemonConfig())
        let text = try String(contentsOfFile: file, encoding: .utf8)
        for key in DaemonConfig.keys {
            let leaf = String(key.split(separator: ".").last!)
            #expect(text.contains("\(leaf):"), "config/ctd.yaml does not document \(key)")
        }
    }

    @Test func flagsBeatEnvironmentBeatTheFile() async throws {
        let file = folder.write(Array("state_dir: /srv/ctd\nmodel:\n  width: 64\n  depth: 48\nretrain:\n  interval: 15m\n".utf8), to: "c.yaml")
        let environment = ["CTD_MODEL_WIDTH": "56", "CTD_RETRAIN_MIN_NEW_LABELS": "7", "CTD_TRAINING_EPOCHS": "9"]
        let flags = try ConfigLoader.parseFlags(["--model-width", "50", "--training-epochs=3"])
        let config = try await ConfigLoader(file: file, flags: flags, environment: environment).load()
        #expect(config.stateDirectory == "/srv/ctd")
        #expect(config.training.width == 50)       // flag over variable over file
        #expect(config.training.depth == 48)       // file over default
        #expect(config.training.height == 128)     // default
        #expect(config.training.epochs == 3)
        #expect(config.retrain.minNewLabels == 7)  // variable over default
        #expect(config.retrain.interval == 900)
    }

    @Test func everyBadValueIsListedWithItsKey() {
        let values = ["model.width": "40", "model.precision": "f16", "training.epochs": "many", "watch.settle": "soon",
                      "predict.threshold": "1.5"]
        do {
            _ = try DaemonConfig(lookup: { values[$0] })
            Issue.record("accepted a bad configuration")
        } catch {
            let text = error.description
            #expect(text.contains("model.precision: \"f16\" is not auto, f32 or bf16"))
            #expect(text.contains("training.epochs: \"many\" is not a whole number"))
            #expect(text.contains("watch.settle: \"soon\" is not a duration"))
            #expect(text.contains("predict.threshold must be between 0 and 1"))
            #expect(text.contains("46"))  // the input-size rule, from the model
        }
    }

    /// The precision is resolved at the configuration check: bf16 on a CPU without it stops the
    /// start (exit 64) with the tier and the fix, instead of failing every training run later.
    @Test func precisionIsResolvedForTheCPUAtTheCheck() throws {
        do {
            _ = try DaemonConfig(lookup: { $0 == "model.precision" ? "bf16" : nil }, isa: .avx2)
            Issue.record("bf16 accepted on AVX2")
        } catch {
            #expect(error.problems == ["model.precision: precision bf16 needs a CPU with AVX-512 (natively: AVX512_BF16 or AMX), but oneDNN runs AVX2 here"
                                       + (InstructionSet.capSetting.map { " (capped by \($0))" } ?? "") + ": set the precision to auto or f32"])
        }
        let automatic = try DaemonConfig(lookup: { _ in nil }, isa: .avx2)
        #expect(automatic.training.precision == .auto && automatic.precision.precision == .f32 && automatic.precision.reason.contains("AVX2"))
        let native = try DaemonConfig(lookup: { $0 == "model.precision" ? "bf16" : nil }, isa: .avx512CoreBF16)
        #expect(native.precision.precision == .bf16)
        #expect(try DaemonConfig(lookup: { _ in nil }, isa: .avx512CoreAMX).precision.precision == .bf16)
    }

    @Test func aMissingOrMalformedFileIsAClearError() async throws {
        await #expect(throws: ConfigError.self) { try await ConfigLoader(file: folder.path + "/none.yaml", flags: [:], environment: [:]).load() }
        let bad = folder.write(Array("model: [unclosed\n".utf8), to: "bad.yaml")
        do {
            _ = try await ConfigLoader(file: bad, flags: [:], environment: [:]).load()
            Issue.record("accepted malformed YAML")
        } catch {
            // One line, with where the error is.
            #expect("\(error)".contains("bad.yaml: not valid YAML: line 2, column 1:"), "\(error)")
            #expect(!"\(error)".contains("\n"))
        }
    }

    /// A misspelled or unknown key in the file is an error (exit 64 at start), with the nearest
    /// known key when one is close, instead of silently keeping the default.
    @Test func unknownKeysInTheFileAreRefusedWithASuggestion() async throws {
        let file = folder.write(Array("retrain:\n  min_new_label: 5\nmodel:\n  width: 64\nfavourite_colour: blue\ncontrol: {}\n".utf8), to: "typo.yaml")
        do {
            _ = try await ConfigLoader(file: file, flags: [:], environment: [:]).load()
            Issue.record("accepted unknown keys")
        } catch {
            // In the file's order.
            #expect((error as? ConfigError)?.problems == ["\(file): `retrain.min_new_label`: unknown key; did you mean `retrain.min_new_labels`?",
                                                          "\(file): `favourite_colour`: unknown key (config/ctd.yaml lists every key)"])
        }
    }

    /// A mapping key that is an alias of an alias bomb made Yams hash billions of nodes (found by
    /// the config fuzzer); aliases are refused before the YAML is composed.
    @Test func aliasesAreRefusedBeforeComposing() {
        func problem(_ text: String) -> String? {
            if case .failure(let error) = ConfigLoader.check(fileBytes: Array(text.utf8)) { return error.problems.first }
            return nil
        }
        var bomb = "a: &a [x, x, x, x, x, x, x, x, x]\n"
        for (name, previous) in zip("bcdefghij", "abcdefghi") { bomb += "\(name): &\(name) [" + Array(repeating: "*\(previous)", count: 9).joined(separator: ", ") + "]\n" }
        #expect(problem(bomb + "? *j\n: 1\n") == "ctd.yaml: line 2, column 8: YAML aliases (`*name`) are not accepted here; write the value out in full")
        #expect(problem("predict:\n  threshold: &t 0.5\nretrain:\n  min_new_labels: *t\n")?.contains("line 4, column 19") == true)
        #expect(problem("[*a]")?.contains("column 2") == true)
        #expect(problem("\u{FEFF}*a : 1")?.contains("column 2") == true)
        // Not aliases: a `*` inside a word or a path, or followed by something no alias starts with.
        #expect(problem("state_dir: /data/scans*2/x*y\ncontrol:\n  socket: '/srv/ctd/* old'\n") == nil)
    }

    @Test func unknownFlagsAreRefusedByName() {
        #expect(throws: ConfigError.self) { try ConfigLoader.parseFlags(["--model-widht", "64"]) }
        #expect(throws: ConfigError.self) { try ConfigLoader.parseFlags(["--model-width"]) }
        #expect(DaemonConfig.flag(for: "retrain.min_new_labels") == "--retrain-min-new-labels")
        #expect(DaemonConfig.environmentVariable(for: "retrain.min_new_labels") == "CTD_RETRAIN_MIN_NEW_LABELS")
    }

    @Test func durationsAsPeopleWriteThem() {
        #expect(Duration.seconds(in: "500ms") == 0.5)
        #expect(Duration.seconds(in: "90") == 90)
        #expect(Duration.seconds(in: "15m") == 900)
        #expect(Duration.seconds(in: "6h") == 21600)
        #expect(Duration.seconds(in: "1d") == 86400)
        #expect(Duration.seconds(in: "-5s") == nil)
        #expect(Duration.seconds(in: "fast") == nil)
    }

    @Test func reloadReportsWhichKeysChanged() throws {
        var changed = DaemonConfig()
        changed.threshold = 0.7
        changed.training.width = 64
        #expect(changed.changedKeys(from: DaemonConfig()) == ["model.width", "predict.threshold"])
        #expect(DaemonConfig.restartKeys.contains("model.width"))
    }
}
