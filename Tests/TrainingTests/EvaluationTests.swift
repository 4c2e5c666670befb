import Testing
import Training

@Suite struct EvaluationTests {
    @Test func figuresMatchAHandCount() throws {
        // Abnormal at 0.9 and 0.6, normal at 0.2 and 0.7: one mistake at 0.5, and 3 of 4 pairs ranked right.
        let result = Evaluation(probabilities: [0.9, 0.6, 0.2, 0.7], labels: [1, 1, 0, 0])
        #expect(result.scans == 4 && result.normal == 2 && result.abnormal == 2)
        #expect(result.accuracy == 0.75)
        #expect(abs(try #require(result.auc) - 0.75) < 1e-12)
        #expect(result.bestThresholdAccuracy == 0.75)
        let brier = (0.01 + 0.16 + 0.04 + 0.49) / 4
        #expect(abs(result.brier - brier) < 1e-12)
    }

    @Test func aSetWithOneClassHasNoAUC() {
        let result = Evaluation(probabilities: [0.3, 0.4], labels: [0, 0])
        #expect(result.auc == nil && result.accuracy == 1)
    }
}
