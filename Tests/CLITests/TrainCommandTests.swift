import CTDTestSupport
import Foundation
import Testing

/// `ctd train` and `ctd predict` as a user runs them, including a training process killed with
/// SIGKILL and resumed: the resumed run must end exactly where an uninterrupted one does.
@Suite(.serialized) struct TrainCommandTests {
    let folder = TemporaryFolder()

    /// 12 normal and 12 abnormal small scans as .nii.gz files in CT-0/ and CT-23/.
    func makeData() throws -> String {
        let data = folder.path + "/data"
        for (name, abnormal) in [("CT-0", false), ("CT-23", true)] {
            try FileManager.default.createDirectory(atPath: "\(data)/\(name)", withIntermediateDirectories: true)
            for index in 0..<12 {
                folder.write(try SmallScans.niftiBytes(index: index, abnormal: abnormal), to: "data/\(name)/scan\(index).nii.gz")
            }
        }
        return data
    }

    func trainArguments(_ data: String, _ out: String) -> [String] {
        ["train", "--data", data, "--out", out, "--width", "48", "--height", "48", "--depth", "48", "--epochs", "3",
         "--precision", "f32", "--cache", folder.path + "/cache", "--seed", "7"]
    }

    func column(_ name: String, of run: String) throws -> [String] {
        let rows = try String(contentsOfFile: run + "/history.csv", encoding: .utf8).split(separator: "\n").map { $0.split(separator: ",", omittingEmptySubsequences: false).map(String.init) }
        let index = try #require(rows.first?.firstIndex(of: name))
        return rows.dropFirst().map { $0[index] }
    }

    @Test func killedRunResumesToTheSameResultAndPredicts() throws {
        let data = try makeData()
        let reference = folder.path + "/reference", killed = folder.path + "/killed"
        let full = try Tools.run("ctd", trainArguments(data, reference))
        #expect(full.status == 0, "\(full.stderr)")
        #expect(full.stdout.contains("Epoch 3/3") && full.stdout.contains("val_acc"), "\(full.stdout)")

        // Start the same run, kill it once its first epoch is saved, then resume.
        let process = Process()
        process.executableURL = URL(fileURLWithPath: Tools.buildFolder + "/ctd")
        process.arguments = trainArguments(data, killed)
        process.standardOutput = FileHandle.nullDevice
        try process.run()
        let deadline = Date().addingTimeInterval(120)
        while !FileManager.default.fileExists(atPath: killed + "/history.csv") && Date() < deadline && process.isRunning { usleep(20_000) }
        kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
        #expect(process.terminationReason == .uncaughtSignal, "killed mid-run")
        let refused = try Tools.run("ctd", trainArguments(data, killed))
        #expect(refused.status == 1 && refused.stderr.contains("--resume"))
        let resumed = try Tools.run("ctd", trainArguments(data, killed) + ["--resume"])
        #expect(resumed.status == 0, "\(resumed.stderr)")
        #expect(resumed.stdout.contains("Resuming"))
        #expect(try column("epoch", of: killed) == ["1", "2", "3"])
        for name in ["loss", "val_loss", "val_acc"] {
            let a = try column(name, of: reference).compactMap(Double.init), b = try column(name, of: killed).compactMap(Double.init)
            #expect(a.count == 3 && zip(a, b).allSatisfy { abs($0 - $1) <= 1e-6 * max(1, abs($0)) }, "\(name): \(a) vs \(b)")
        }
        let again = try Tools.run("ctd", trainArguments(data, killed))
        #expect(again.status == 1 && again.stderr.contains("already ended"), "a finished run is never overwritten")

        // Predict with the run folder: the seed's sentences, and JSON lines.
        let scan = data + "/CT-23/scan0.nii.gz"
        let text = try Tools.run("ctd", ["predict", "--model", reference, scan])
        #expect(text.status == 0, "\(text.stderr)")
        let lines = text.stdout.split(separator: "\n")
        #expect(lines.count == 3 && lines[1].hasPrefix("This model is ") && lines[1].hasSuffix(" percent confident that CT scan is normal"))
        #expect(lines[2].hasSuffix(" percent confident that CT scan is abnormal"))
        let json = try Tools.run("ctd", ["predict", "--json", "--model", reference + "/best.safetensors", scan, data + "/CT-0/scan1.nii.gz"])
        let objects = try json.stdout.split(separator: "\n").map { try #require(try JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any]) }
        #expect(objects.count == 2)
        for object in objects {
            let p = try #require(object["probability_abnormal"] as? Double)
            #expect((0...1).contains(p) && object["file"] is String)
        }

        // Evaluate on the labelled folder: the same probabilities as predict, counted.
        let files = try ["CT-0", "CT-23"].flatMap { folder in
            try FileManager.default.contentsOfDirectory(atPath: data + "/" + folder).sorted().map { data + "/" + folder + "/" + $0 }
        }
        let all = try Tools.run("ctd", ["predict", "--json", "--model", reference] + files)
        let right = try all.stdout.split(separator: "\n").filter { line in
            let object = try #require(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
            let p = try #require(object["probability_abnormal"] as? Double), file = try #require(object["file"] as? String)
            return (p >= 0.5) == file.contains("/CT-23/")
        }.count
        let evaluation = try Tools.run("ctd", ["evaluate", "--json", "--model", reference, "--data", data])
        #expect(evaluation.status == 0, "\(evaluation.stderr)")
        let figures = try #require(try JSONSerialization.jsonObject(with: Data(evaluation.stdout.utf8)) as? [String: Any])
        #expect(figures["scans"] as? Int == files.count)
        #expect(abs((figures["accuracy"] as? Double ?? -1) - Double(right) / Double(files.count)) < 1e-9, "\(figures)")
        #expect((0...1).contains(figures["auc"] as? Double ?? -1) && figures["ece"] is Double)
    }

    @Test func badInputsGetOneLine() throws {
        let empty = folder.path + "/nothing"
        try FileManager.default.createDirectory(atPath: empty, withIntermediateDirectories: true)
        let result = try Tools.run("ctd", ["train", "--data", empty, "--out", folder.path + "/run"])
        #expect(result.status == 1 && result.stderr.contains("no CT-0/ folder"))
        let small = try Tools.run("ctd", ["train", "--data", empty, "--out", folder.path + "/run", "--depth", "32"])
        #expect(small.status == 64 && small.stderr.contains("at least 46 voxels"))
        let model = try Tools.run("ctd", ["predict", "--model", folder.path + "/none.safetensors", "x.nii"])
        #expect(model.status == 1 && model.stderr.contains("no such file"))
        // bf16 on an AVX2 server (played by capping oneDNN): refused before any work, with the fix.
        var avx2 = ProcessInfo.processInfo.environment
        avx2["ONEDNN_MAX_CPU_ISA"] = "AVX2"
        for arguments in [["train", "--data", empty, "--out", folder.path + "/run"], ["bench", "engine", "--steps", "1"]] {
            let bf16 = try Tools.run("ctd", arguments + ["--precision", "bf16"], environment: avx2)
            #expect(bf16.status == 64, "\(arguments): \(bf16.stderr)")
            #expect(bf16.stderr.contains("oneDNN runs AVX2 here (capped by ONEDNN_MAX_CPU_ISA=AVX2): set the precision to auto or f32"))
            #expect(bf16.stderr.split(separator: "\n").count == 1, "one line: \(bf16.stderr)")
        }
    }
}
