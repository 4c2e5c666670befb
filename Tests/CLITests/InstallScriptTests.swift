import CTDTestSupport
import Foundation
import Testing

/// `scripts/install.sh` and `scripts/uninstall.sh` against a temporary root (`--root`), with the
/// `ctd` and `ctctl` the other tests run, and `scripts/lint_unit.sh` on `systemd/ctd.service`.
@Suite struct InstallScriptTests {
    let folder = TemporaryFolder()

    /// The repository: this file is Tests/CLITests/InstallScriptTests.swift.
    static let repository: String = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().path

    static let systemdAnalyzeAvailable: Bool = (ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin")
        .split(separator: ":").contains { FileManager.default.isExecutableFile(atPath: "\($0)/systemd-analyze") }

    /// Runs `scripts/<name>` and waits for it; stdout and stderr together, in order.
    func script(_ name: String, _ arguments: [String]) throws -> (status: Int32, output: String) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: Self.repository + "/scripts/" + name)
        process.arguments = arguments
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = pipe.fileHandleForWriting   // a handle, not the Pipe: Process closes the Pipe's write end once
        try process.run()
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return (process.terminationStatus, String(decoding: data, as: UTF8.self))
    }

    /// The permission bits of `path`, or nil when it does not exist.
    func mode(_ path: String) -> mode_t? {
        var info = stat()
        guard stat(path, &info) == 0 else { return nil }
        return info.st_mode & 0o7777
    }

    func exists(_ path: String) -> Bool { FileManager.default.fileExists(atPath: path) }

    func text(_ path: String) throws -> String { try String(contentsOfFile: path, encoding: .utf8) }

    @Test func installReinstallAndUninstallKeepConfigurationAndState() throws {
        let root = folder.path + "/root"
        let install = ["--root", root, "--no-build", "--bin-dir", Tools.buildFolder, "--no-enable"]
        let shipped = try text(Self.repository + "/config/ctd.yaml")
        let config = root + "/etc/ctd/ctd.yaml", unit = root + "/etc/systemd/system/ctd.service"

        let first = try script("install.sh", install)
        #expect(first.status == 0, "\(first.output)")
        for tool in ["ctd", "ctctl"] {
            let installed = root + "/usr/local/bin/" + tool
            #expect(mode(installed) == 0o755, "\(installed)")
            #expect(FileManager.default.contentsEqual(atPath: installed, andPath: Tools.buildFolder + "/" + tool), "\(tool) is the built one")
        }
        #expect(mode(unit) == 0o644)
        let unitText = try text(unit)
        #expect(unitText.split(separator: "\n").contains("ExecStart=/usr/local/bin/ctd run --config /etc/ctd/ctd.yaml"), "\(unitText)")
        #expect(!unitText.contains(root), "the unit names the program where it runs, not the --root it was installed into")
        #expect(mode(config) == 0o644)
        #expect(try text(config) == shipped)
        #expect(first.output.contains("useradd"), "under --root the user is only described: \(first.output)")

        // Again: nothing changes, the configuration is left alone.
        let second = try script("install.sh", install)
        #expect(second.status == 0, "\(second.output)")
        #expect(try text(config) == shipped)
        #expect(!exists(config + ".dist"))

        // The operator edits the configuration: a reinstall keeps the edit and puts the shipped one beside it.
        let edited = shipped + "\n# changed by the operator\n"
        try edited.write(toFile: config, atomically: true, encoding: .utf8)
        let third = try script("install.sh", install)
        #expect(third.status == 0, "\(third.output)")
        #expect(try text(config) == edited)
        #expect(try text(config + ".dist") == shipped)
        #expect(third.output.contains("ctd.yaml.dist"), "the reinstall says where the shipped configuration went: \(third.output)")

        // Uninstall removes the programs and the unit, and never the state folder or the configuration.
        let models = root + "/var/lib/ctd/models"
        try FileManager.default.createDirectory(atPath: models, withIntermediateDirectories: true)
        try "weights".write(toFile: models + "/keep.safetensors", atomically: true, encoding: .utf8)
        let uninstall = try script("uninstall.sh", ["--root", root])
        #expect(uninstall.status == 0, "\(uninstall.output)")
        for gone in [root + "/usr/local/bin/ctd", root + "/usr/local/bin/ctctl", unit] {
            #expect(!exists(gone), "\(gone) was not removed")
        }
        #expect(try text(models + "/keep.safetensors") == "weights")
        #expect(try text(config) == edited)
        #expect(uninstall.output.contains("/var/lib/ctd"), "uninstall says the state folder was kept: \(uninstall.output)")
    }

    @Test func prefixIsWrittenIntoTheUnit() throws {
        let root = folder.path + "/root"
        let result = try script("install.sh", ["--root", root, "--prefix", "/opt/ctd", "--bin-dir", Tools.buildFolder, "--no-enable"])
        #expect(result.status == 0, "\(result.output)")
        #expect(mode(root + "/opt/ctd/bin/ctd") == 0o755)
        #expect(mode(root + "/opt/ctd/bin/ctctl") == 0o755)
        let unitText = try text(root + "/etc/systemd/system/ctd.service")
        #expect(unitText.split(separator: "\n").contains("ExecStart=/opt/ctd/bin/ctd run --config /etc/ctd/ctd.yaml"), "\(unitText)")
        #expect(!unitText.split(separator: "\n").filter { !$0.hasPrefix("#") }.contains { $0.contains("/usr/local/bin") })
        let uninstall = try script("uninstall.sh", ["--root", root, "--prefix", "/opt/ctd"])
        #expect(uninstall.status == 0, "\(uninstall.output)")
        #expect(!exists(root + "/opt/ctd/bin/ctd") && !exists(root + "/opt/ctd/bin/ctctl"))
    }

    @Test func badOptionsFailWithAReasonAndInstallNothing() throws {
        let root = folder.path + "/root"
        let relative = try script("install.sh", ["--root", root, "--prefix", "usr/local", "--bin-dir", Tools.buildFolder, "--no-enable"])
        #expect(relative.status == 1)
        #expect(relative.output.contains("--prefix must be an absolute path"), "\(relative.output)")
        let missing = try script("install.sh", ["--root", root, "--bin-dir", folder.path + "/nowhere", "--no-enable"])
        #expect(missing.status == 1)
        #expect(missing.output.contains("nowhere/ctd is missing"), "\(missing.output)")
        let unknown = try script("install.sh", ["--root", root, "--frobnicate"])
        #expect(unknown.status == 1)
        #expect(unknown.output.contains("unknown option: --frobnicate"), "\(unknown.output)")
        #expect(!exists(root + "/usr/local/bin/ctd") && !exists(root + "/etc/systemd/system/ctd.service"))
    }

    @Test(.enabled(if: InstallScriptTests.systemdAnalyzeAvailable, "systemd-analyze is not installed"))
    func unitPassesSystemdAnalyze() throws {
        let result = try script("lint_unit.sh", [Tools.buildFolder + "/ctd"])
        #expect(result.status == 0, "\(result.output)")
        #expect(result.output.contains("systemd-analyze verify: clean"), "\(result.output)")
        #expect(result.output.contains("Overall exposure level for ctd.service"), "\(result.output)")
    }
}
