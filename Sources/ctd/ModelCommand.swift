import ArgumentParser
import Model

struct ModelCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "model", abstract: "Describe the seed's 3-D CNN.", subcommands: [Summary.self])

    struct Summary: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Print a Keras-like table: layer, output shape, parameters, total.")

        @Option(help: "Input width (x).") var width = 128
        @Option(help: "Input height (y).") var height = 128
        @Option(help: "Input depth (z, slices).") var depth = 64

        func validate() throws {
            do { _ = try Architecture(width: width, height: height, depth: depth) } catch { throw ValidationError(error.description) }
        }

        func run() throws {
            print(try Architecture(width: width, height: height, depth: depth).summary)
        }
    }
}
