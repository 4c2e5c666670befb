import ArgumentParser
import Foundation
import NIfTI

struct Inspect: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Show a NIfTI file's header facts (dims, datatype, pixdim, scaling, byte order, version) and whether ctd can use it.",
        discussion: "The voxel data is read through to find a file that ends early. Exit status 0 when ctd can use the file; 1, with the reason, when it can't (a 2-D image, a series of volumes, data that ends early) or the file is not readable NIfTI.")

    @Argument(help: "A .nii or .nii.gz file.")
    var file: String

    @Flag(help: "Print one JSON object instead of text.")
    var json = false

    func run() throws {
        let described: NIfTIReader.Description
        do { described = try NIfTIReader().describe(path: file) } catch { throw fail(error) }
        var facts = HeaderFacts(file: file, header: described.header, compressed: described.compressed, problems: described.warnings)
        facts.unusable = described.unusable?.description
        facts.dataProblem = described.dataProblem?.description
        print(json ? facts.json() : facts.text)
        // Exit 1 unless ctd could use the file, with the reason on stderr as for any bad input.
        if let problem = described.dataProblem ?? described.unusable { throw fail(NIfTIError(file: file, reason: problem)) }
    }
}
