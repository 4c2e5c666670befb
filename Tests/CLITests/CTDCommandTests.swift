import CTDTestSupport
import Foundation
import NIfTI
import Preprocess
import Testing

/// The `ctd` executable end to end: its output shapes, exit codes and one-line errors.
@Suite struct CTDCommandTests {
    let folder = TemporaryFolder()

    @Test func inspectPrintsHeaderFacts() throws {
        let result = try Tools.run("ctd", ["inspect", Fixtures.path("int16_be_scaled.nii.gz")])
        #expect(result.status == 0)
        for expected in ["NIfTI-1, big-endian, gzip", "dims:         24 × 24 × 8", "datatype:     int16 (bitpix 16)",
                         "scl_slope:    2.5", "scl_inter:    -1024", "pixdim:       0.7 × 0.7 × 5"] {
            #expect(result.stdout.contains(expected), "missing \(expected) in\n\(result.stdout)")
        }
    }

    @Test func inspectJSONHasTheDocumentedShape() throws {
        let result = try Tools.run("ctd", ["inspect", "--json", Fixtures.path("float32_nifti2.nii.gz")])
        #expect(result.status == 0)
        let object = try #require(try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any])
        #expect(Set(object.keys) == ["file", "nifti_version", "byte_order", "compressed", "dims", "datatype", "bitpix", "pixdim",
                                     "scl_slope", "scl_inter", "scaling_applied", "vox_offset", "qform_code", "sform_code",
                                     "orientation", "description", "warnings"])
        #expect(object["nifti_version"] as? Int == 2)
        #expect(object["dims"] as? [Int] == [24, 24, 8])
        #expect(object["datatype"] as? String == "float32")
        #expect(object["byte_order"] as? String == "little")
        #expect(object["scaling_applied"] as? Bool == false)
    }

    /// A 2-D image is described, with why ctd can't use it; a .nii.gz whose data ends early is
    /// described and fails. Either way: exit 1 and the reason in one line on stderr.
    @Test func inspectDescribesFilesCTDCannotUseAndExitsOne() throws {
        var header = NIfTIWriter.header(shape: (8, 6, 1), datatype: .int16)
        header.dim = [2, 8, 6, 1, 1, 1, 1, 1]
        let image = folder.write(try NIfTIWriter.encode(header: header, rawData: NIfTIWriter.rawBytes([Int16](repeating: 7, count: 48)), compressed: false), to: "image.nii")
        let described = try Tools.run("ctd", ["inspect", image])
        #expect(described.status == 1)
        #expect(described.stdout.contains("dims:         8 × 6") && described.stdout.contains("ctd can't use it: a 2-D image"), "\(described.stdout)")
        #expect(described.stderr.split(separator: "\n").count == 1 && described.stderr.hasPrefix("ctd: \(image): a 2-D image"), "\(described.stderr)")

        let whole = try Fixtures.bytes("int16_be_scaled.nii.gz")
        let cut = folder.write(Array(whole[..<(whole.count * 3 / 4)]), to: "cut.nii.gz")
        let truncated = try Tools.run("ctd", ["inspect", "--json", cut])
        #expect(truncated.status == 1)
        let object = try #require(try JSONSerialization.jsonObject(with: Data(truncated.stdout.utf8)) as? [String: Any])
        #expect((object["data_problem"] as? String)?.contains("truncated") == true && object["unusable"] == nil, "\(truncated.stdout)")
        #expect(truncated.stderr.split(separator: "\n").count == 1 && truncated.stderr.contains("truncated"), "\(truncated.stderr)")
    }

    @Test(arguments: ["empty", "directory", "truncated", "badmagic", "absurd", "missing"])
    func inspectAndPreprocessFailWithOneLine(kind: String) throws {
        let path = folder.path + "/\(kind).nii"
        let valid = try Fixtures.bytes("int16_le.nii")
        switch kind {
        case "empty": folder.write([], to: "\(kind).nii")
        case "directory": try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: false)
        case "truncated": folder.write(Array(valid[..<1000]), to: "\(kind).nii")
        case "badmagic": var bytes = valid; bytes[344] = UInt8(ascii: "x"); folder.write(bytes, to: "\(kind).nii")
        case "absurd": var bytes = valid; bytes[42] = 0xff; bytes[43] = 0x7f; bytes[44] = 0xff; bytes[45] = 0x7f; bytes[46] = 0xff; bytes[47] = 0x7f
            folder.write(bytes, to: "\(kind).nii")
        default: break
        }
        for arguments in [["inspect", path], ["preprocess", path, "-o", folder.path + "/out.npy"]] {
            let result = try Tools.run("ctd", arguments)
            #expect(result.status == 1, "\(kind): \(arguments[0]) exit status")
            let lines = result.stderr.split(separator: "\n")
            #expect(lines.count == 1, "\(kind): \(result.stderr)")
            #expect(result.stderr.hasPrefix("ctd: \(path): "))
            #expect(!FileManager.default.fileExists(atPath: folder.path + "/out.npy"), "no output for a bad input")
        }
    }

    @Test func preprocessWritesTheSeedsTensorAsNpy() throws {
        let out = folder.path + "/scan.npy"
        let result = try Tools.run("ctd", ["preprocess", Fixtures.path("int16_le.nii"), "-o", out, "--width", "32", "--height", "32", "--depth", "12"])
        #expect(result.status == 0, "\(result.stderr)")
        let written = try NumPyFile.decode([UInt8](Data(contentsOf: URL(fileURLWithPath: out)))).grid
        let reference = try Fixtures.npy("int16_le.pre-32x32x12.npy").grid
        #expect(maxAbsDifference(written.values, reference.values) <= 1e-5)
    }

    @Test func preprocessRejectsBadSizesAsUsageErrors() throws {
        let result = try Tools.run("ctd", ["preprocess", Fixtures.path("int16_le.nii"), "-o", folder.path + "/x.npy", "--width", "0"])
        #expect(result.status == 64)
        #expect(result.stderr.contains("--width must be between 1 and 4096"))
    }

    /// A misspelled key stops `ctd run` before it starts: exit 64, one line per problem.
    @Test func exportWritesShardsAddsOnlyNewScansAndNamesAScanItSkips() throws {
        let data = folder.path + "/data", out = folder.path + "/export"
        for index in 0..<3 {
            _ = folder.write(try SmallScans.niftiBytes(index: index, abnormal: false), to: "data/CT-0/n\(index).nii.gz")
            _ = folder.write(try SmallScans.niftiBytes(index: index, abnormal: true), to: "data/CT-23/a\(index).nii.gz")
        }
        let size = ["--width", "48", "--height", "48", "--depth", "48", "--shard-size", "4"]
        let first = try Tools.run("ctd", ["export", "--data", data, "--out", out] + size)
        #expect(first.status == 0, "\(first.stderr)")
        #expect(first.stdout.contains("6 scans") && first.stdout.contains("6 added") && first.stdout.contains("in 2 shards"), "\(first.stdout)")
        let manifest = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: out + "/manifest.json"))) as! [String: Any]
        let scans = manifest["scans"] as! [[String: Any]]
        #expect(Set(scans.map { "\($0["name"]!):\($0["label"]!)" }) == ["CT-0/n0.nii.gz:0", "CT-0/n1.nii.gz:0", "CT-0/n2.nii.gz:0",
                                                                     "CT-23/a0.nii.gz:1", "CT-23/a1.nii.gz:1", "CT-23/a2.nii.gz:1"])

        _ = folder.write(try SmallScans.niftiBytes(index: 7, abnormal: true), to: "data/CT-23/a7.nii.gz")
        _ = folder.write(Array("not a scan".utf8), to: "data/CT-0/broken.nii")
        let second = try Tools.run("ctd", ["export", "--data", data, "--out", out] + size)
        #expect(second.status == 1, "a skipped scan is a failure to report")
        #expect(second.stdout.contains("1 added, 6 already there") && second.stdout.contains("skipped CT-0/broken.nii"), "\(second.stdout)")

        let other = try Tools.run("ctd", ["export", "--data", data, "--out", out, "--width", "64", "--height", "64", "--depth", "64"])
        #expect(other.status == 1 && other.stderr.contains("export to a new folder"), "\(other.stderr)")
    }

    @Test func runRefusesAnUnknownKeyWithExit64() throws {
        let file = folder.write(Array("retrain:\n  min_new_label: 5\n".utf8), to: "typo.yaml")
        let result = try Tools.run("ctd", ["run", "--config", file, "--state-dir", folder.path + "/state"])
        #expect(result.status == 64)
        #expect(result.stderr.contains("`retrain.min_new_label`: unknown key; did you mean `retrain.min_new_labels`?"), "\(result.stderr)")
        #expect(!FileManager.default.fileExists(atPath: folder.path + "/state/inbox"), "nothing was started")
    }

    @Test func ctctlSaysTheDaemonIsUnreachable() throws {
        let result = try Tools.run("ctctl", ["status", "--socket", folder.path + "/none.sock"])
        #expect(result.status == 69)
        #expect(result.stderr.contains("ctd is not running") && result.stderr.contains("hint:"))
    }
}
