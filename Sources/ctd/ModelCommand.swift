import ArgumentParser
import AtomicFile
import Foundation
import Model
import Training

struct ModelCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "model", abstract: "Describe the seed's 3-D CNN, and check another implementation of it against ctd's.",
        subcommands: [Summary.self, Logits.self, Step.self])

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

    struct Logits: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Print a checkpoint's float32 logits for inputs (.npy float32 [n, 1, X, Y, Z]) as JSON: {\"logits\": [...]}.")

        @Option(help: "A checkpoint (.safetensors).") var checkpoint: String
        @Option(help: "The inputs: .npy float32 [n, 1, X, Y, Z] at the checkpoint's input size.") var inputs: String

        func run() throws {
            do {
                let logits = try ModelCheck.logits(checkpoint: checkpoint, inputs: inputs)
                print(String(decoding: try JSONEncoder().encode(["logits": logits]), as: UTF8.self))
            } catch { throw fail(error) }
        }
    }

    struct Step: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "One float32 training step without dropout on a batch; writes the checkpoint after it and prints {\"loss\", \"logits\"}.",
            discussion: "--gradients also writes the step's gradients (safetensors, same names and layouts).")

        @Option(help: "The checkpoint to start from (its optimizer state, if any, is continued).") var checkpoint: String
        @Option(help: "The batch: .npy float32 [n, 1, X, Y, Z].") var inputs: String
        @Option(help: "One label per input, comma-separated: 0 normal, 1 abnormal.") var labels: String
        @Option(help: "Where to write the checkpoint after the step.") var out: String
        @Option(help: "Where to write the gradients.") var gradients: String?
        @Option(help: "Adam's learning rate (default the seed's 1e-4).") var learningRate: Double?

        func run() throws {
            let values = labels.split(separator: ",").compactMap { Float($0.trimmingCharacters(in: .whitespaces)) }
            do {
                let result = try ModelCheck.step(checkpoint: checkpoint, inputs: inputs, labels: values, learningRate: learningRate)
                try result.after.write(to: out)
                if let gradients {
                    let shapes = Dictionary(uniqueKeysWithValues: result.after.architecture.parameterShapes)
                    let tensors = result.gradients.tensors.mapValues { values in SafeTensors.Tensor(shape: [values.count], values: values) }
                        .reduce(into: [String: SafeTensors.Tensor]()) { $0[$1.key] = SafeTensors.Tensor(shape: shapes[$1.key]!, values: $1.value.values) }
                    try AtomicFile.write(SafeTensors.encode(tensors, metadata: ["format": "ctd-gradients"]), to: gradients)
                }
                let encoder = JSONEncoder()
                encoder.outputFormatting = [.sortedKeys]
                struct Answer: Encodable { let loss: Double; let logits: [Float] }
                print(String(decoding: try encoder.encode(Answer(loss: result.loss, logits: result.logits)), as: UTF8.self))
            } catch { throw fail(error) }
        }
    }
}
