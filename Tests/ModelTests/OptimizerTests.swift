import Model
import Testing

/// Adam and its schedule against Keras's formulas, and the loss against its definition.
@Suite struct OptimizerTests {
    @Test func scheduleIsTheSeedsStaircaseDecay() {
        let adam = AdamSettings()
        #expect(adam.learningRate(atStep: 0) == 1e-4)
        #expect(adam.learningRate(atStep: 99_999) == 1e-4)
        #expect(abs(adam.learningRate(atStep: 100_000) - 0.96e-4) < 1e-16)
        #expect(abs(adam.learningRate(atStep: 250_000) - 1e-4 * 0.96 * 0.96) < 1e-16)
    }

    @Test func firstStepSizeIncludesBiasCorrection() {
        // t = 1: lr · √(1 − 0.999) / (1 − 0.9)
        #expect(abs(AdamSettings().stepSize(atStep: 0) - 1e-4 * (0.001).squareRoot() / 0.1) < 1e-15)
    }

    @Test func lossIsStableAndMatchesTheDefinition() {
        let (loss, gradient) = BinaryCrossEntropy.lossAndGradient(logits: [0, 2, -3, 100, -100], labels: [1, 0, 0, 1, 1])
        let expected = [log(2.0), log(1 + exp(2.0)), log(1 + exp(-3.0)), 0, 100].reduce(0, +) / 5
        #expect(abs(loss - expected) < 1e-9)
        #expect(loss.isFinite)
        #expect(abs(Double(gradient[0]) - (0.5 - 1) / 5) < 1e-7)
        #expect(abs(Double(gradient[4]) - (0 - 1) / 5) < 1e-7)
    }
}

import Foundation
