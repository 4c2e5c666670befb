import ArgumentParser
import Foundation
import NIfTI

struct Inspect: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Show a NIfTI file's header facts (dims, datatype, pixdim, scaling, byte order, version).")

    @Argument(help: "A .nii or .nii.gz file.")
    var file: String

    @Flag(help: "Print one JSON object instead of text.")
    var json = false

    func run() throws {
        let found: (header: Header, problems: [HeaderProblem], compressed: Bool)
        do { found = try NIfTIReader().inspect(path: file) } catch { throw fail(error) }
        let facts = HeaderFacts(file: file, header: found.header, compressed: found.compressed, problems: found.problems)
        if json {
            print(facts.json())
        } else {
            print(facts.text)
        }
    }
}
