import CTDTestSupport
import ControlProtocol
import Export
import Preprocess
import Foundation
import Testing
import UnixSocket

/// `ctctl` against a real daemon: every command with `--json` parsed back, the human output,
/// the errors a person sees, and a socket that survives bad, huge, silent and vanishing clients.
@Suite(.serialized) struct ControlTests {
    let folder = TemporaryFolder()
    var state: String { folder.path + "/state" }
    var socket: String { state + "/ctd.sock" }

    static let settings = [
        "--model-width", "48", "--model-height", "48", "--model-depth", "48", "--model-precision", "f32",
        "--training-epochs", "2", "--retrain-min-new-labels", "1000", "--retrain-min-per-class", "3",
        "--watch-settle", "200ms", "--control-idle-timeout", "1s",
    ]

    func ctctl(_ arguments: [String]) throws -> Tools.Result {
        try Tools.run("ctctl", arguments + ["--socket", socket])
    }

    func json<T: Decodable>(_ type: T.Type, _ arguments: [String]) throws -> T {
        let result = try ctctl(arguments + ["--json"])
        #expect(result.status == 0, "ctctl \(arguments): \(result.stderr)")
        let last = result.stdout.split(separator: "\n").last.map(String.init) ?? ""
        return try JSONDecoder().decode(T.self, from: Data(last.utf8))
    }

    func drop(_ bytes: [UInt8], as relative: String) throws {
        let target = state + "/inbox/" + relative
        try FileManager.default.createDirectory(atPath: (target as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
        let staging = folder.write(bytes, to: UUID().uuidString)
        #expect(rename(staging, target) == 0)
    }

    /// A raw connection, for what ctctl would never send.
    func raw(_ bytes: [UInt8]) throws -> (UnixSocket, [String]) {
        let connection = try UnixSocket.connect(to: socket)
        try connection.send(bytes)
        var lines: [String] = []
        var buffer = LineBuffer(limit: 1 << 20)
        while lines.isEmpty, connection.wait(for: Int16(POLLIN), timeout: 5) {
            let received = try connection.receive()
            if received.isEmpty { break }
            lines += try buffer.append(received).map { String(decoding: $0, as: UTF8.self) }
        }
        return (connection, lines)
    }

    @Test func everyCommandAndItsErrors() throws {
        // No daemon yet: a sentence and a hint, exit 69.
        let absent = try ctctl(["status"])
        #expect(absent.status == 69)
        #expect(absent.stderr.contains("ctd is not running") && absent.stderr.contains("hint: start it"), "\(absent.stderr)")
        let absentJSON = try ctctl(["status", "--json"])
        let absentError = (try? JSONSerialization.jsonObject(with: Data(absentJSON.stdout.utf8)) as? [String: Any])?["error"] as? [String: Any]
        #expect(absentJSON.status == 69 && absentError?["code"] as? String == "no_daemon" && absentError?["exit_code"] as? Int == 69, "\(absentJSON.stdout)")

        let daemon = DaemonProcess(stateDirectory: state, settings: Self.settings)
        try daemon.start()
        defer { daemon.stop() }
        #expect(DaemonProcess.wait(30) { FileManager.default.fileExists(atPath: socket) }, "\(daemon.log)")

        var status = try json(StatusInfo.self, ["status"])
        #expect(status.activeModel == nil && status.training == nil && !status.paused)
        #expect(status.stateDirectory == state)
        // The tier oneDNN runs (the suite may run under ONEDNN_MAX_CPU_ISA) and the precision set.
        #expect(["AVX2", "AVX512_CORE", "AVX512_CORE_BF16", "AVX512_CORE_AMX"].contains(status.compute?.cpuISA ?? "none"), "\(String(describing: status.compute))")
        #expect(status.compute?.precision == "f32" && status.compute?.precisionReason == "f32 as configured")
        let human = try ctctl(["status"])
        #expect(human.stdout.contains("active model  none yet"), "\(human.stdout)")

        // Nothing to train on yet.
        let early = try ctctl(["retrain"])
        #expect(early.status == 1 && early.stderr.contains("cannot train now"), "\(early.stderr)")

        for index in 0..<8 {
            try drop(SmallScans.niftiBytes(index: index, abnormal: false), as: "CT-0/n\(index).nii.gz")
            try drop(SmallScans.niftiBytes(index: index, abnormal: true), as: "CT-23/a\(index).nii.gz")
        }
        #expect(DaemonProcess.wait(60) { ((try? json([ScanSummary].self, ["scans", "--limit", "50"]))?.count ?? 0) == 16 }, "\(daemon.log)")
        let normal = try json([ScanSummary].self, ["scans", "--label", "normal"])
        #expect(normal.count == 8 && normal.allSatisfy { $0.label == .normal && $0.state == .cached })
        #expect(try ctctl(["scans", "--label", "sideways"]).stderr.contains("label must be normal, abnormal, none or conflict"))

        // export: the training set as shards, each row the scan's cache tensor, in the network's layout.
        let exportFolder = folder.path + "/export"
        let exported = try json(ExportSummary.self, ["export", "--out", exportFolder, "--shard-size", "5"])
        #expect(exported.scans == 16 && exported.added == 16 && exported.shards == 4 && exported.skipped.isEmpty, "\(exported)")
        let manifest = try ExportManifest.decode(Array(try Data(contentsOf: URL(fileURLWithPath: exportFolder + "/manifest.json"))), file: "manifest")
        #expect(Set(manifest.scans.map(\.hash)) == Set(try json([ScanSummary].self, ["scans", "--limit", "50"]).map(\.hash)))
        #expect(manifest.scans.allSatisfy { ($0.label == 1) == $0.name.hasPrefix("a") }, "\(manifest.scans)")
        #expect(manifest.preprocessing == PreprocessParameters(width: 48, height: 48, depth: 48))
        for scan in manifest.scans.prefix(3) {
            let rows = try ShardFile.decodeRows(Array(try Data(contentsOf: URL(fileURLWithPath: exportFolder + "/" + scan.shard))), x: 48, y: 48, z: 48)
            let cached = try FileManager.default.contentsOfDirectory(atPath: state + "/cache").first { $0.hasPrefix(scan.hash) }!
            let grid = try NumPyFile.decode(Array(try Data(contentsOf: URL(fileURLWithPath: state + "/cache/" + cached)))).grid
            #expect(rows[scan.row] == ModelInput.values(grid), "\(scan.name): its row is its cache tensor")
        }
        let again = try ctctl(["export", "--out", exportFolder])
        #expect(again.status == 0 && again.stdout.contains("0 added, 16 already there"), "\(again.stdout)\(again.stderr)")

        // retrain --wait: progress lines, then the finished run.
        let retrain = try ctctl(["retrain", "--wait", "--json"])
        #expect(retrain.status == 0, "\(retrain.stderr)\n\(daemon.log)")
        let lines = retrain.stdout.split(separator: "\n").map(String.init)
        let progress = lines.dropLast().compactMap { try? JSONDecoder().decode(TrainingInfo.self, from: Data($0.utf8)) }
        #expect(!progress.isEmpty && progress.allSatisfy { $0.epochs == 2 })
        let run = try JSONDecoder().decode(RunSummary.self, from: Data(lines.last!.utf8))
        #expect(run.state == .finished && run.active, "\(run)")
        #expect(progress.allSatisfy { $0.runID == run.id })

        let runs = try json([RunSummary].self, ["runs"])
        #expect(runs.map(\.id) == [run.id])
        let detail = try json(RunDetail.self, ["run", run.id])
        #expect(detail.epochs.map(\.epoch) == [1, 2])
        #expect(try ctctl(["run", "run-nope"]).stderr.contains("no training run \"run-nope\""))
        status = try json(StatusInfo.self, ["status"])
        #expect(status.activeModel?.id == run.id)

        // One scan by name, by hash prefix; an unknown one.
        let byName = try json(ScanDetail.self, ["scan", "CT-23/a3.nii.gz"])
        #expect(byName.scan.label == .abnormal && byName.files.first?.outcome == .archived)
        #expect(try json(ScanDetail.self, ["scan", String(byName.scan.hash.prefix(10))]).scan.id == byName.scan.id)
        let unknown = try ctctl(["scan", "nothing-like-it.nii"])
        #expect(unknown.status == 1 && unknown.stderr.contains("no scan known as"), "\(unknown.stderr)")

        // predict: a file outside the inbox, passed by descriptor.
        let outside = folder.write(try SmallScans.niftiBytes(index: 70, abnormal: true), to: "outside.nii.gz")
        let predicted = try json(PredictResult.self, ["predict", outside])
        #expect(predicted.runID == run.id && predicted.probabilityAbnormal >= 0 && predicted.probabilityAbnormal <= 1)
        #expect(predicted.calibrated == true && predicted.logit?.isFinite == true, "the daemon's models are calibrated")
        let sentence = try ctctl(["predict", outside])
        #expect(sentence.stdout.contains("percent confident that CT scan is abnormal"), "\(sentence.stdout)")
        let garbage = folder.write(Array("garbage".utf8), to: "garbage.nii")
        let bad = try ctctl(["predict", garbage])
        #expect(bad.status == 1 && bad.stderr.contains("garbage.nii"), "\(bad.stderr)")
        #expect(try ctctl(["predict", folder.path + "/missing.nii"]).stderr.contains("cannot open"))
        // With --json, every outcome is an object on stdout, failures included.
        let mixed = try ctctl(["predict", "--json", garbage, outside, folder.path + "/missing.nii"])
        #expect(mixed.status == 1)
        let outcomes = mixed.stdout.split(separator: "\n").map { try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any] }
        #expect(outcomes.count == 3 && outcomes.allSatisfy { $0 != nil }, "\(mixed.stdout)")
        let garbageError = outcomes.first??["error"] as? [String: Any]
        #expect(outcomes.first??["file"] as? String == garbage && (garbageError?["message"] as? String)?.contains("garbage.nii") == true, "\(mixed.stdout)")
        #expect(outcomes.dropFirst().first??["probability_abnormal"] != nil, "\(mixed.stdout)")
        #expect((outcomes.last??["error"] as? [String: Any])?["code"] as? String == "cannot_open", "\(mixed.stdout)")

        // pause: a new file waits; resume: it is taken.
        #expect(try json(Acknowledgement.self, ["pause"]).message.hasPrefix("paused"))
        #expect(try json(StatusInfo.self, ["status"]).paused)
        try drop(SmallScans.niftiBytes(index: 80, abnormal: false), as: "CT-0/late.nii.gz")
        Thread.sleep(forTimeInterval: 1.5)
        #expect(FileManager.default.fileExists(atPath: state + "/inbox/CT-0/late.nii.gz"))
        _ = try json(Acknowledgement.self, ["resume"])
        #expect(DaemonProcess.wait(20) { !FileManager.default.fileExists(atPath: state + "/inbox/CT-0/late.nii.gz") })

        // next-to-label: requests answered by the model, least certain first; copying one into
        // CT-23/ labels it, and it leaves the list.
        for index in 0..<3 { try drop(SmallScans.niftiBytes(index: 90 + index, abnormal: index == 1), as: "ward/q\(index).nii.gz") }
        #expect(DaemonProcess.wait(60) { (try? json(LabelingSuggestions.self, ["next-to-label"]))?.suggestions.count == 3 }, "\(daemon.log)")
        let suggested = try json(LabelingSuggestions.self, ["next-to-label"]).suggestions
        let uncertainty = suggested.map { abs($0.probabilityAbnormal - 0.5) }
        #expect(uncertainty == uncertainty.sorted() && suggested.allSatisfy { $0.byActiveModel && FileManager.default.fileExists(atPath: $0.archived) })
        #expect(try ctctl(["next-to-label", "--limit", "1"]).stdout.contains("Most uncertain first"))
        try drop(Array(try Data(contentsOf: URL(fileURLWithPath: suggested[0].archived))), as: "CT-23/labelled-by-hand.nii.gz")
        #expect(DaemonProcess.wait(30) { (try? json(LabelingSuggestions.self, ["next-to-label"]))?.suggestions.map(\.scanID) == suggested.dropFirst().map(\.scanID) })

        // cancel with nothing running; rollback with nothing earlier; promote; reload.
        #expect(try ctctl(["cancel"]).stderr.contains("no training run is in progress"))
        #expect(try ctctl(["rollback"]).stderr.contains("no earlier active model"))
        #expect(try json(Acknowledgement.self, ["promote", run.id]).message.contains("is now the active model"))
        #expect(try ctctl(["promote", "run-nope"]).status == 1)
        #expect(try json(Acknowledgement.self, ["reload"]).message.contains("reloaded"))
        #expect(daemon.log.contains("control: promote \(run.id) requested by root"), "\(daemon.log)")

        // The export's split is the one the daemon's runs use.
        let runReport = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: detail.folder + "/run.json"))) as! [String: Any]
        let sides = Dictionary(uniqueKeysWithValues: (runReport["split"] as! [[String: Any]]).map { ($0["hash"] as! String, $0["side"] as! String) })
        #expect(manifest.scans.allSatisfy { sides[$0.hash] == $0.split.rawValue }, "\(sides)")
        // Labelled since: exported by the next export, and only they are read.
        let grown = try json(ExportSummary.self, ["export", "--out", exportFolder])
        #expect(grown.added == 2 && grown.kept == 16 && grown.scans == 18, "\(grown)")

        // import: a model from elsewhere is evaluated here and recorded; promoted only when asked.
        let copy = folder.path + "/elsewhere.safetensors"
        try FileManager.default.copyItem(atPath: detail.folder + "/best.safetensors", toPath: copy)
        let imported = try json(ImportResult.self, ["import", copy])
        #expect(imported.run.origin == .imported && imported.run.source == copy && !imported.promoted && imported.run.id != run.id, "\(imported)")
        let validationNow = try ExportManifest.decode(Array(try Data(contentsOf: URL(fileURLWithPath: exportFolder + "/manifest.json"))), file: "manifest")
            .scans.filter { $0.split == .validation }.count
        #expect(validationNow > 0 && imported.evaluation?.scans == validationNow, "evaluated on the daemon's validation set today: \(imported)")
        #expect(try json(StatusInfo.self, ["status"]).activeModel?.id == run.id, "an import alone changes nothing")
        let twice = try ctctl(["import", copy])
        #expect(twice.status == 1 && twice.stderr.contains("already imported as \(imported.run.id)"), "\(twice.stderr)")
        let garbageModel = folder.write(Array("not a checkpoint".utf8), to: "garbage.safetensors")
        let refused = try ctctl(["import", garbageModel])
        #expect(refused.status == 1 && refused.stderr.contains("garbage.safetensors:"), "\(refused.stderr)")
        // Another model (one step further on a shard of the export), forced in: it answers requests.
        let shard = exportFolder + "/" + manifest.shards[0].file
        let stepped = folder.path + "/stepped.safetensors"
        let labels = (0..<manifest.shards[0].count).map { String($0 % 2) }.joined(separator: ",")
        #expect(try Tools.run("ctd", ["model", "step", "--checkpoint", copy, "--inputs", shard, "--labels", labels, "--out", stepped]).status == 0)
        let guarded = try json(ImportResult.self, ["import", stepped, "--promote"])
        #expect(guarded.note.map { $0.hasPrefix(guarded.promoted ? "promoted" : "not promoted") } == true && guarded.run.active == guarded.promoted, "\(guarded)")
        let otherLabels = (0..<manifest.shards[0].count).map { String(($0 + 1) % 2) }.joined(separator: ",")
        #expect(try Tools.run("ctd", ["model", "step", "--checkpoint", copy, "--inputs", shard, "--labels", otherLabels, "--out", stepped]).status == 0)
        let forced = try json(ImportResult.self, ["import", stepped, "--force"])
        #expect(forced.promoted && forced.run.active && forced.note?.contains("promoted by force by root") == true, "\(forced)")
        #expect(daemon.log.contains("promoted by force by root"), "\(daemon.log)")
        #expect(try json(PredictResult.self, ["predict", outside]).runID == forced.run.id)
        let listed = try ctctl(["runs"])
        #expect(listed.stdout.contains("ORIGIN") && listed.stdout.contains("imported"), "\(listed.stdout)")
        #expect(try json(Acknowledgement.self, ["rollback"]).message.contains(guarded.promoted ? guarded.run.id : run.id))

        // metrics in the Prometheus text format.
        let metrics = try ctctl(["metrics"])
        #expect(metrics.stdout.contains("# TYPE ctd_files_total counter"))
        #expect(metrics.stdout.contains("ctd_files_total{outcome=\"archived\"} 21"), "\(metrics.stdout)")  // 16 labelled, late, 3 requests, 1 labelled by hand
        #expect(metrics.stdout.contains("ctd_training_epochs_total 2"))
        #expect(metrics.stdout.contains("ctd_control_requests_total{command=\"status\"}"))
        #expect(metrics.stdout.contains("ctd_cpu_isa{isa=\""), "\(metrics.stdout)")
    }

    @Test func theSocketSurvivesBadHugeSilentAndVanishingClients() throws {
        let daemon = DaemonProcess(stateDirectory: state, settings: Self.settings)
        try daemon.start()
        defer { daemon.stop() }
        #expect(DaemonProcess.wait(30) { FileManager.default.fileExists(atPath: socket) }, "\(daemon.log)")

        // Malformed JSON, then a good request on the same connection.
        let (connection, first) = try raw(Array("{not json\n".utf8))
        #expect(first.first?.contains("bad_request") == true, "\(first)")
        try connection.send(ControlCoding.line(Request(id: "2", command: .status)))
        var buffer = LineBuffer(limit: 1 << 20)
        var answered: [[UInt8]] = []
        while answered.isEmpty, connection.wait(for: Int16(POLLIN), timeout: 5) { answered += try buffer.append(connection.receive()) }
        let response = try JSONDecoder().decode(Response.self, from: Data(answered[0]))
        #expect(response.id == "2" && response.error == nil)

        // Unknown command, unsupported version.
        #expect(try raw(Array(#"{"v":1,"id":"u","command":"launch"}"#.utf8) + [0x0a]).1.first?.contains("unknown_command") == true)
        #expect(try raw(Array(#"{"v":9,"id":"v","command":"status"}"#.utf8) + [0x0a]).1.first?.contains("unsupported_version") == true)

        // Over the size limit, without a newline: refused and closed.
        let (huge, refusal) = try raw([UInt8](repeating: 0x61, count: ControlProtocol.maxRequestBytes + 10))
        #expect(refusal.first?.contains("too_large") == true, "\(refusal)")
        #expect(huge.wait(for: Int16(POLLIN), timeout: 5))
        #expect(try huge.receive().isEmpty)

        // Connects and never writes: dropped after the idle timeout (1 s here).
        let silent = try UnixSocket.connect(to: socket)
        #expect(silent.wait(for: Int16(POLLIN), timeout: 10))
        #expect(try silent.receive().isEmpty)

        // Half a request, then gone (as a killed client): the daemon carries on.
        do {
            let vanishing = try UnixSocket.connect(to: socket)
            try vanishing.send(Array(#"{"v":1,"id":"x","comm"#.utf8))
        }
        // A killed ctctl process in the middle of its request.
        let process = Process()
        process.executableURL = URL(fileURLWithPath: Tools.buildFolder + "/ctctl")
        process.arguments = ["status", "--socket", socket]
        try process.run()
        kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()

        // Many clients at once.
        let failures = Counter()
        let path = socket
        DispatchQueue.concurrentPerform(iterations: 12) { _ in
            for _ in 0..<5 where (try? Tools.run("ctctl", ["status", "--json", "--socket", path]))?.status != 0 { failures.add() }
        }
        #expect(failures.value == 0)
        #expect(daemon.isRunning)
        #expect(try ctctl(["status"]).status == 0)
    }
}

extension ControlTests {
    /// Over `control.max_clients`, ctctl says the daemon is busy (exit 75), never that it is gone
    /// (69), and the daemon logs the refusals at most once a second.
    @Test func aBusyDaemonSaysSoAndLogsItOnceASecond() throws {
        let daemon = DaemonProcess(stateDirectory: state, settings: Self.settings + ["--control-max-clients", "3", "--control-idle-timeout", "5m"])
        try daemon.start()
        defer { daemon.stop() }
        #expect(DaemonProcess.wait(30) { FileManager.default.fileExists(atPath: socket) }, "\(daemon.log)")
        // Three clients that hold their connections: each is answered, so each has been admitted.
        var holders: [UnixSocket] = []
        for _ in 0..<3 {
            let (holder, answer) = try raw(ControlCoding.line(Request(id: "h", command: .status)))
            #expect(answer.first?.contains("\"error\"") == false, "\(answer)")
            holders.append(holder)
        }
        let started = ContinuousClock.now
        var statuses: [Int32] = []
        for _ in 0..<20 {
            let refused = try ctctl(["status"])
            statuses.append(refused.status)
            if refused.status == 75 { #expect(refused.stderr.contains("serving 3 clients already") && refused.stderr.contains("try again"), "\(refused.stderr)") }
        }
        let elapsed = ContinuousClock.now - started
        #expect(statuses == Array(repeating: 75, count: 20))
        let logged = daemon.log.split(separator: "\n").filter { $0.contains("control: refused") }
        #expect(!logged.isEmpty && logged.count <= Int(elapsed.components.seconds) + 1, "\(logged.count) lines in \(elapsed)")
        #expect(daemon.isRunning)
        holders.removeAll()
        #expect(DaemonProcess.wait(10) { (try? ctctl(["status"]))?.status == 0 })
    }
}

final class Counter: @unchecked Sendable {
    private let lock = NSLock()
    private var count = 0
    func add() { lock.withLock { count += 1 } }
    var value: Int { lock.withLock { count } }
}

/// Who may use the socket, checked with a real unprivileged user (needs root to switch to
/// `nobody`; skipped otherwise).
@Suite(.serialized) struct ControlAccessTests {
    let folder = TemporaryFolder()
    var state: String { folder.path + "/state" }

    static let canSwitchUser = getuid() == 0 && FileManager.default.isExecutableFile(atPath: "/usr/sbin/runuser")

    func asNobody(_ arguments: [String]) throws -> Tools.Result {
        try Tools.run("/usr/sbin/runuser", ["-u", "nobody", "--", Tools.buildFolder + "/ctctl"] + arguments, absolute: true)
    }

    @Test(.enabled(if: canSwitchUser)) func strangersAreKeptOutAndAReadGroupMayOnlyRead() throws {
        chmod(folder.path, 0o755)
        let daemon = DaemonProcess(stateDirectory: state, settings: ["--model-width", "48", "--model-height", "48", "--model-depth", "48"])
        try daemon.start()
        #expect(DaemonProcess.wait(30) { FileManager.default.fileExists(atPath: state + "/ctd.sock") }, "\(daemon.log)")
        chmod(state, 0o755)
        var info = stat()
        #expect(stat(state + "/ctd.sock", &info) == 0 && info.st_mode & 0o777 == 0o660)
        let denied = try asNobody(["status", "--socket", state + "/ctd.sock"])
        #expect(denied.status == 77, "\(denied.stderr)")
        #expect(denied.stderr.contains("permission denied") && denied.stderr.contains("usermod -aG"), "\(denied.stderr)")
        daemon.stop()

        // A read group: the socket is open to all, each command is checked.
        let open = DaemonProcess(stateDirectory: state, settings: ["--model-width", "48", "--model-height", "48", "--model-depth", "48",
                                                                   "--control-read-group", "nogroup"])
        try open.start()
        defer { open.stop() }
        #expect(DaemonProcess.wait(30) { FileManager.default.fileExists(atPath: state + "/ctd.sock") }, "\(open.log)")
        #expect(try asNobody(["status", "--socket", state + "/ctd.sock"]).status == 0)
        let refused = try asNobody(["pause", "--socket", state + "/ctd.sock"])
        #expect(refused.status == 77 && refused.stderr.contains("may not use pause"), "\(refused.stderr)")
        #expect(open.log.contains("refused pause from nobody"), "\(open.log)")
    }
}
