import Foundation

/// Keras-style description and arithmetic cost of the network.
extension Architecture {
    /// Multiply-accumulates of block `index`'s convolution for one sample.
    public func convolutionMACs(ofBlock index: Int) -> Int {
        convolutionSize(ofBlock: index).reduce(1, *) * Self.filters[index] * inputChannels(ofBlock: index) * 27
    }

    /// Floating-point operations of one forward pass over one sample (convolutions dominate;
    /// the dense layers are counted too).
    public var forwardFLOPs: Double {
        let conv = (0..<4).reduce(0) { $0 + convolutionMACs(ofBlock: $1) }
        return 2 * Double(conv + Self.filters.last! * Self.hiddenUnits + Self.hiddenUnits)
    }

    /// Operations of one training step per sample: forward, weight gradients (as many as the
    /// forward) and input gradients for every block but the first (whose input needs none).
    public var trainingFLOPsPerSample: Double {
        let conv = (0..<4).map { Double(convolutionMACs(ofBlock: $0)) }
        return forwardFLOPs + 2 * conv.reduce(0, +) + 2 * conv.dropFirst().reduce(0, +)
    }

    /// The model as Keras's `model.summary()` prints it, with the total.
    public var summary: String {
        var rows: [(String, String, Int)] = [("input (InputLayer)", shape([width, height, depth], 1), 0)]
        for (index, filters) in Self.filters.enumerated() {
            let suffix = index == 0 ? "" : "_\(index)"
            let conv = convolutionSize(ofBlock: index), pooled = pooledSize(afterBlock: index)
            rows.append(("conv3d\(suffix) (Conv3D)", shape(conv, filters), filters * inputChannels(ofBlock: index) * 27 + filters))
            rows.append(("max_pooling3d\(suffix) (MaxPooling3D)", shape(pooled, filters), 0))
            rows.append(("batch_normalization\(suffix) (BatchNormalization)", shape(pooled, filters), 4 * filters))
        }
        rows.append(("global_average_pooling3d (GlobalAveragePooling3D)", "(None, \(Self.filters.last!))", 0))
        rows.append(("dense (Dense)", "(None, \(Self.hiddenUnits))", Self.filters.last! * Self.hiddenUnits + Self.hiddenUnits))
        rows.append(("dropout (Dropout)", "(None, \(Self.hiddenUnits))", 0))
        rows.append(("dense_1 (Dense)", "(None, 1)", Self.hiddenUnits + 1))
        let nonTrainable = Self.filters.reduce(0) { $0 + 2 * $1 }
        var lines = ["Model: \"3dcnn\"  input \(width)×\(height)×\(depth)", String(repeating: "─", count: 96),
                     pad("Layer (type)", 52) + pad("Output Shape", 30) + "Param #", String(repeating: "─", count: 96)]
        for (name, outputShape, count) in rows { lines.append(pad(name, 52) + pad(outputShape, 30) + grouped(count)) }
        lines += [String(repeating: "─", count: 96),
                  "Total params: \(grouped(parameterCount))",
                  "Trainable params: \(grouped(parameterCount - nonTrainable))",
                  "Non-trainable params: \(grouped(nonTrainable))",
                  String(format: "Forward pass: %.1f GFLOP per scan; training step: %.1f GFLOP per scan", forwardFLOPs / 1e9, trainingFLOPsPerSample / 1e9)]
        return lines.joined(separator: "\n")
    }

    private func shape(_ spatial: [Int], _ channels: Int) -> String {
        "(None, " + spatial.map(String.init).joined(separator: ", ") + ", \(channels))"
    }

    private func pad(_ text: String, _ width: Int) -> String {
        text.count >= width ? text + " " : text + String(repeating: " ", count: width - text.count)
    }

    private func grouped(_ value: Int) -> String {
        var digits = Array(String(value))
        var index = digits.count - 3
        while index > 0 { digits.insert(",", at: index); index -= 3 }
        return String(digits)
    }
}
