import Foundation
import ArgumentParser

/// Prints one line, "ctd: <what>: <why>", on stderr and exits with code 1 — the contract for
/// every input the tool could not process.
func fail(_ error: any Error, hint: String? = nil) -> ExitCode {
    var text = "ctd: \(error)\n"
    if let hint { text += "hint: \(hint)\n" }
    FileHandle.standardError.write(Data(text.utf8))
    return ExitCode(1)
}
