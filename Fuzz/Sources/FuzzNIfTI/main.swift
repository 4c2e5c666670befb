import FuzzTargets
import Foundation

/// libFuzzer's entry point (linked in by -sanitize=fuzzer); SwiftPM gives executables their own
/// `main`, so the fuzzer is started from it instead of libFuzzer's.
@_silgen_name("LLVMFuzzerRunDriver")
func LLVMFuzzerRunDriver(_ argc: UnsafeMutablePointer<Int32>,
                         _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>>,
                         _ callback: @convention(c) (UnsafePointer<UInt8>?, Int) -> Int32) -> Int32

// `--write-seeds DIR` writes the valid inputs to start from; anything else goes to libFuzzer.
if CommandLine.arguments.count == 3, CommandLine.arguments[1] == "--write-seeds" {
    for seed in try FuzzTargets.seeds(for: "nifti") {
        FileManager.default.createFile(atPath: CommandLine.arguments[2] + "/" + seed.name, contents: Data(seed.bytes))
    }
    exit(0)
}

// libFuzzer's driver calls this with each input; returning is success, anything else is the bug.
var argc = CommandLine.argc
var argv = CommandLine.unsafeArgv
exit(LLVMFuzzerRunDriver(&argc, &argv) { data, size in
    _ = FuzzTargets.nifti(Array(UnsafeBufferPointer(start: data, count: size)))
    return 0
})
