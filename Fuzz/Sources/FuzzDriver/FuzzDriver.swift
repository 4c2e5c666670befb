import Foundation
import FuzzTargets

/// libFuzzer's entry point (linked in from libclang_rt.fuzzer_no_main): SwiftPM gives executables
/// their own `main`, so each fuzzer starts libFuzzer's driver from it.
@_silgen_name("LLVMFuzzerRunDriver")
func LLVMFuzzerRunDriver(_ argc: UnsafeMutablePointer<Int32>,
                         _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>>,
                         _ callback: @convention(c) (UnsafePointer<UInt8>?, Int) -> Int32) -> Int32

/// Runs one fuzz target: `--write-seeds DIR` writes its valid seeds, anything else goes to libFuzzer
/// (corpus folders and -flags). Each input must return; a crash or sanitizer report is the bug.
public func runFuzzer(_ target: String, _ decode: @escaping @convention(c) (UnsafePointer<UInt8>?, Int) -> Int32) -> Never {
    let arguments = CommandLine.arguments
    if arguments.count == 3, arguments[1] == "--write-seeds" {
        do {
            for seed in try FuzzTargets.seeds(for: target) {
                FileManager.default.createFile(atPath: arguments[2] + "/" + seed.name, contents: Data(seed.bytes))
            }
            exit(0)
        } catch {
            FileHandle.standardError.write(Data("\(error)\n".utf8))
            exit(1)
        }
    }
    var argc = CommandLine.argc
    var argv = CommandLine.unsafeArgv
    exit(LLVMFuzzerRunDriver(&argc, &argv, decode))
}

/// The input as an array (the decoders take [UInt8]).
public func bytes(_ data: UnsafePointer<UInt8>?, _ size: Int) -> [UInt8] {
    Array(UnsafeBufferPointer(start: data, count: size))
}
