import ArgumentParser
import AtomicFile
import NIfTI
import Preprocess

struct Preprocess: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Preprocess a scan as the seed does (HU window, rotate 90°, trilinear resize) into a float32 .npy of shape (W, H, D).")

    @Argument(help: "A .nii or .nii.gz file.")
    var file: String

    @Option(name: .shortAndLong, help: "Where to write the .npy file.")
    var output: String

    @Option(help: "Output width (x).") var width = 128
    @Option(help: "Output height (y).") var height = 128
    @Option(help: "Output depth (z, slices).") var depth = 64

    func validate() throws {
        for (name, value) in [("width", width), ("height", height), ("depth", depth)] where !(1...4096).contains(value) {
            throw ValidationError("--\(name) must be between 1 and 4096 (got \(value))")
        }
    }

    func run() throws {
        let parameters = PreprocessParameters(width: width, height: height, depth: depth)
        do {
            let volume = try NIfTIReader().read(path: file)
            let grid = Preprocessor(parameters).run(volume)
            try AtomicFile.write(NumPyFile.encode(grid), to: output)
        } catch {
            throw fail(error)
        }
    }
}
