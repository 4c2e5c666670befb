import SeededRandom

/// Every tensor of the model by name, in the checkpoint's canonical layout (row-major over the
/// shapes `Architecture.parameterShapes` lists). The exchange format between the network (which
/// keeps its own engine layouts), checkpoints and initialisation.
public struct ParameterSet: Sendable, Equatable {
    public var tensors: [String: [Float]]

    public init(tensors: [String: [Float]]) {
        self.tensors = tensors
    }

    public subscript(name: String) -> [Float]? {
        get { tensors[name] }
        set { tensors[name] = newValue }
    }

    /// Keras's initial values: Glorot-uniform kernels, zero biases, BatchNorm gamma 1, beta 0,
    /// running mean 0 and variance 1. The same seed gives the same weights.
    public static func initial(for architecture: Architecture, seed: UInt64) -> ParameterSet {
        var generator = SeededGenerator(seed: seed)
        var tensors: [String: [Float]] = [:]
        for (name, shape) in architecture.parameterShapes {
            let count = shape.reduce(1, *)
            switch name.split(separator: ".").last! {
            case "weight" where name.hasPrefix("conv") || name.hasPrefix("fc"):
                // Glorot uniform: limit sqrt(6 / (fan_in + fan_out)); the receptive field multiplies both fans.
                let receptive = shape.dropFirst(2).reduce(1, *)
                let limit = (6.0 / Double((shape[0] + shape[1]) * receptive)).squareRoot()
                tensors[name] = (0..<count).map { _ in Float(generator.uniform(-limit, limit)) }
            case "weight", "running_var":
                tensors[name] = [Float](repeating: 1, count: count)
            default:
                tensors[name] = [Float](repeating: 0, count: count)
            }
        }
        return ParameterSet(tensors: tensors)
    }

    /// Problems with these tensors for `architecture`: a missing or extra name, a wrong size.
    public func mismatches(with architecture: Architecture) -> [String] {
        let expected = Dictionary(uniqueKeysWithValues: architecture.parameterShapes.map { ($0.name, $0.shape) })
        var problems: [String] = []
        for (name, shape) in architecture.parameterShapes {
            guard let values = tensors[name] else { problems.append("\(name) is missing"); continue }
            let count = shape.reduce(1, *)
            if values.count != count { problems.append("\(name) has \(values.count) values, expected \(count) for shape \(shape)") }
        }
        for name in tensors.keys.sorted() where expected[name] == nil { problems.append("\(name) is not a tensor of this model") }
        return problems
    }
}
