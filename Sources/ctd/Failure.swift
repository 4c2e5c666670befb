import Foundation
import ArgumentParser

/// A setting this machine cannot honour: one line, "ctd: <what>: <why and the fix>", on stderr
/// and exit code 64 (without ArgumentParser's usage text, which would bury the reason).
func refuse(_ message: String) -> ExitCode {
    FileHandle.standardError.write(Data("ctd: \(message)\n".utf8))
    return ExitCode(64)
}

/// Prints one line, "ctd: <what>: <why>", on stderr and exits with code 1 — the contract for
/// every input the tool could not process.
func fail(_ error: any Error, hint: String? = nil) -> ExitCode {
    var text = "ctd: \(error)\n"
    if let hint { text += "hint: \(hint)\n" }
    FileHandle.standardError.write(Data(text.utf8))
    return ExitCode(1)
}
