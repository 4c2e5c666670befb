import CTDTestSupport
import Catalog
import Foundation
import Testing

/// The real daemon as a child process, at a tiny input size: labelled scans train a model,
/// requests get reports, a corrupt file is rejected with its reason; then a SIGKILL in the
/// middle of work and a restart lose and duplicate nothing.
@Suite(.serialized) struct DaemonEndToEndTests {
    let folder = TemporaryFolder()
    var state: String { folder.path + "/state" }
    var inbox: String { state + "/inbox" }

    static let settings = [
        "--model-width", "48", "--model-height", "48", "--model-depth", "48", "--model-precision", "f32",
        "--training-epochs", "2", "--retrain-min-new-labels", "8", "--retrain-min-per-class", "3", "--retrain-interval", "0",
        "--watch-settle", "400ms", "--log-level", "debug",
        // A truncated scan is a copy in progress until this long after its last change.
        "--watch-incomplete-grace", "2s",
    ]

    /// Writes outside the inbox, then renames into place, as careful copy tools do.
    func drop(_ bytes: [UInt8], as relative: String) throws {
        let target = inbox + "/" + relative
        try FileManager.default.createDirectory(atPath: (target as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
        let staging = folder.write(bytes, to: UUID().uuidString)
        #expect(rename(staging, target) == 0)
    }

    /// Appends in pieces with pauses shorter than the settle time, closing the file each time:
    /// every close is an IN_CLOSE_WRITE, yet the daemon must wait for the whole file.
    func dropSlowly(_ bytes: [UInt8], as relative: String, pieces: Int = 5) throws {
        let target = inbox + "/" + relative
        FileManager.default.createFile(atPath: target, contents: nil)
        let size = (bytes.count + pieces - 1) / pieces
        for start in stride(from: 0, to: bytes.count, by: size) {
            let handle = try #require(FileHandle(forWritingAtPath: target))
            try handle.seekToEnd()
            try handle.write(contentsOf: bytes[start..<min(start + size, bytes.count)])
            try handle.close()
            usleep(120_000)
        }
    }

    func files(under folder: String) -> [String] {
        (FileManager.default.enumerator(atPath: folder)?.allObjects as? [String] ?? []).filter {
            var isDirectory: ObjCBool = false
            return FileManager.default.fileExists(atPath: folder + "/" + $0, isDirectory: &isDirectory) && !isDirectory.boolValue
        }.sorted()
    }

    @Test func trainsReportsRejectsAndSurvivesSIGKILL() throws {
        let daemon = DaemonProcess(stateDirectory: state, settings: Self.settings)
        try daemon.start()
        #expect(DaemonProcess.wait(30) { FileManager.default.fileExists(atPath: inbox + "/CT-23") }, "\(daemon.log)")
        var dropped: [String] = []
        for index in 0..<8 {
            try drop(SmallScans.niftiBytes(index: index, abnormal: false), as: "CT-0/normal-\(index).nii.gz")
            try drop(SmallScans.niftiBytes(index: index, abnormal: true), as: "CT-23/abnormal-\(index).nii.gz")
            dropped += ["CT-0/normal-\(index).nii.gz", "CT-23/abnormal-\(index).nii.gz"]
        }
        let truncated = Array(try SmallScans.niftiBytes(index: 9, abnormal: false).prefix(400))
        try drop(truncated, as: "CT-0/corrupt.nii.gz")
        try dropSlowly(SmallScans.niftiBytes(index: 20, abnormal: true), as: "slow request.nii.gz")
        dropped += ["CT-0/corrupt.nii.gz", "slow request.nii.gz"]

        // A model is trained and the request answered.
        let report = state + "/outbox/slow request.json"
        #expect(DaemonProcess.wait(180) { FileManager.default.fileExists(atPath: report) }, "no report; log:\n\(daemon.log)")
        let json = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: report))) as? [String: Any] ?? [:]
        let probability = try #require(json["probability_abnormal"] as? Double)
        #expect(probability >= 0 && probability <= 1)
        // Calibrated, with the network's raw logit beside it.
        #expect(json["calibrated"] as? Bool == true && json["logit"] is Double, "\(json)")
        let calibration = (json["model"] as? [String: Any])?["calibration"] as? [String: Any]
        #expect((calibration?["after"] as? [String: Any])?["ece"] is Double && ["platt", "identity"].contains(calibration?["method"] as? String ?? ""), "\(json)")
        // Where the model looked: Grad-CAM on block 3's convolution (8×8×8 for a 48³ input), and the picture in colour.
        let saliency = json["saliency"] as? [String: Any]
        #expect(saliency?["block_grid"] as? [Int] == [8, 8, 8] && (saliency?["top_slices"] as? [Int])?.count == 5, "\(json)")
        let picture = try Data(contentsOf: URL(fileURLWithPath: state + "/outbox/slow request.png"))
        #expect(picture.count > 25 && picture[25] == 2, "an RGB PNG (colour type 2)")
        #expect((json["model"] as? [String: Any])?["run_id"] as? String != nil)
        #expect((json["sentences"] as? [String])?.first?.hasPrefix("This model is ") == true)
        #expect(FileManager.default.fileExists(atPath: state + "/outbox/slow request.png"))
        // The whole slow file was read: its size in the catalog is the full size.
        let error = try String(contentsOfFile: state + "/rejected/CT-0/corrupt.nii.gz.error.txt", encoding: .utf8)
        #expect(error.hasPrefix("CT-0/corrupt.nii.gz: "), "\(error)")

        // More work, and a SIGKILL in the middle of it: while the second training run trains.
        for index in 0..<3 {
            try drop(SmallScans.niftiBytes(index: 30 + index, abnormal: index == 1), as: "ward/req-\(index).nii.gz")
            dropped.append("ward/req-\(index).nii.gz")
        }
        for index in 0..<4 {
            try drop(SmallScans.niftiBytes(index: 50 + index, abnormal: false), as: "CT-0/more-\(index).nii.gz")
            try drop(SmallScans.niftiBytes(index: 50 + index, abnormal: true), as: "CT-23/more-\(index).nii.gz")
            dropped += ["CT-0/more-\(index).nii.gz", "CT-23/more-\(index).nii.gz"]
        }
        try drop(SmallScans.niftiBytes(index: 40, abnormal: false), as: "CT-0/late.nii.gz")
        try drop(SmallScans.niftiBytes(index: 40, abnormal: false), as: "CT-0/late-copy.nii.gz")  // the same scan twice
        dropped += ["CT-0/late.nii.gz", "CT-0/late-copy.nii.gz"]
        #expect(DaemonProcess.wait(120) { daemon.log.components(separatedBy: "starting training run").count >= 3 }, "\(daemon.log)")
        usleep(300_000)
        daemon.kill()

        try daemon.start()
        let requests = ["slow request", "ward_req-0", "ward_req-1", "ward_req-2"]
        #expect(DaemonProcess.wait(120) {
            files(under: inbox).isEmpty && daemon.log.contains("promoted") && daemon.log.components(separatedBy: "promoted").count >= 3
                && requests.allSatisfy { FileManager.default.fileExists(atPath: state + "/outbox/\($0).json") }
        }, "unfinished after the restart; inbox: \(files(under: inbox)); log:\n\(daemon.log)")
        #expect(daemon.stop() == 0, "\(daemon.log)")

        // Every dropped file is accounted for exactly once, and nothing is left half-written.
        let catalog = try Catalog(path: state + "/ctd.sqlite")
        #expect(try catalog.integrityCheck() == "ok")
        let recorded = try catalog.files()
        #expect(recorded.map(\.inboxPath).sorted() == dropped.sorted())
        #expect(recorded.allSatisfy { $0.moved })
        #expect(recorded.filter { $0.outcome == .rejected }.map(\.inboxPath) == ["CT-0/corrupt.nii.gz"])
        #expect(recorded.filter { $0.duplicate }.count == 1)
        #expect(files(under: state + "/archive").count == dropped.count - 1)
        #expect(files(under: state + "/rejected") == ["CT-0/corrupt.nii.gz", "CT-0/corrupt.nii.gz.error.txt"])
        #expect(files(under: state + "/outbox").filter { $0.hasSuffix(".json") }.sorted() == requests.map { $0 + ".json" }.sorted())
        #expect(try catalog.predictions().count == requests.count)
        #expect(try catalog.jobs(state: .parked).isEmpty)
        #expect(try catalog.jobs(state: .running).isEmpty)
        #expect(files(under: state).filter { $0.hasSuffix(".partial") }.isEmpty)
        #expect(try catalog.activeRun() != nil)
        // Both runs ended (the killed one resumed after the restart), each epoch recorded once.
        let runs = try catalog.runs()
        #expect(runs.count == 2 && runs.allSatisfy { $0.state != .running }, "\(runs)")
        for run in runs { #expect(try catalog.epochs(runID: run.id).map(\.epoch) == [1, 2]) }
        #expect(FileManager.default.fileExists(atPath: try #require(try catalog.activeRun()).folder + "/curves.png"))
    }
}
