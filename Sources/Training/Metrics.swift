import Model

/// A classifier's figures on a set of scans: mean binary cross-entropy, accuracy at 0.5, ROC AUC,
/// and the best accuracy any threshold reaches.
public struct ClassificationMetrics: Sendable, Codable, Equatable {
    public var loss: Double
    public var accuracy: Double
    /// Area under the ROC curve; nil when the set holds only one class.
    public var auc: Double?
    /// The best accuracy any threshold reaches on this set, and the probability threshold that
    /// reaches it (the midpoint between the two scores it falls between): how far accuracy at 0.5
    /// is from what the ranking allows.
    public var bestAccuracy: Double
    public var bestThreshold: Double
    public var count: Int

    /// Metrics of pre-sigmoid `logits` against 0/1 `labels`.
    public init(logits: [Float], labels: [Float]) {
        precondition(logits.count == labels.count && !logits.isEmpty, "one label per logit")
        count = logits.count
        loss = BinaryCrossEntropy.lossAndGradient(logits: logits, labels: labels).loss
        accuracy = Double(zip(logits, labels).filter { ($0 > 0) == ($1 > 0.5) }.count) / Double(count)
        auc = Self.auc(scores: logits, labels: labels)
        let best = Self.bestThreshold(scores: logits, labels: labels)
        (bestAccuracy, bestThreshold) = (best.accuracy, BinaryCrossEntropy.sigmoid(Double(best.threshold)))
    }

    /// The threshold on `scores` (a score above it is called positive) that gets the most labels
    /// right, and that accuracy; ties in score move together. O(n log n).
    public static func bestThreshold(scores: [Float], labels: [Float]) -> (threshold: Float, accuracy: Double) {
        let order = scores.indices.sorted { scores[$0] < scores[$1] }
        // Everything called positive: right on every positive.
        var correct = labels.filter { $0 > 0.5 }.count
        var best = (threshold: (scores[order[0]] - 1), correct: correct)
        var start = 0
        while start < order.count {
            var end = start
            while end + 1 < order.count && scores[order[end + 1]] == scores[order[start]] { end += 1 }
            // Move this score's scans below the threshold.
            for position in start...end { correct += labels[order[position]] > 0.5 ? -1 : 1 }
            let next = end + 1 < order.count ? scores[order[end + 1]] : scores[order[end]] + 1
            if correct > best.correct { best = ((scores[order[end]] + next) / 2, correct) }
            start = end + 1
        }
        return (best.threshold, Double(best.correct) / Double(scores.count))
    }

    /// The probability that a random positive scores above a random negative (ties count half):
    /// the Mann–Whitney form of the ROC AUC, via ranks, O(n log n).
    public static func auc(scores: [Float], labels: [Float]) -> Double? {
        let positives = labels.filter { $0 > 0.5 }.count, negatives = labels.count - positives
        guard positives > 0, negatives > 0 else { return nil }
        let order = scores.indices.sorted { scores[$0] < scores[$1] }
        var rankSum = 0.0
        var start = 0
        while start < order.count {
            var end = start
            while end + 1 < order.count && scores[order[end + 1]] == scores[order[start]] { end += 1 }
            let averageRank = Double(start + end) / 2 + 1
            for position in start...end where labels[order[position]] > 0.5 { rankSum += averageRank }
            start = end + 1
        }
        return (rankSum - Double(positives * (positives + 1)) / 2) / Double(positives * negatives)
    }
}
