/// When to train: on request, or when enough new labels have arrived and enough time has passed
/// since the last run. Retraining on every new label was what users of similar tools hated, so
/// triggers coalesce: one run at a time, and a request while one runs is not queued twice.
public struct RetrainPolicy: Sendable, Equatable {
    public var minNewLabels: Int
    /// Seconds between two automatic runs.
    public var interval: Double
    /// Training needs this many labelled scans of each class at least.
    public var minPerClass: Int

    public init(minNewLabels: Int, interval: Double, minPerClass: Int = 4) {
        (self.minNewLabels, self.interval, self.minPerClass) = (minNewLabels, interval, minPerClass)
    }

    public struct Facts: Sendable, Equatable {
        public var now: Double
        public var requested: Bool
        public var trainingNow: Bool
        public var paused: Bool
        public var lastRunStart: Double?
        public var newLabels: Int
        public var normal: Int
        public var abnormal: Int
        /// Labelled scans on the validation side of the split (by content hash), and the batch size.
        public var validation: Int
        public var batchSize: Int

        public init(now: Double, requested: Bool = false, trainingNow: Bool = false, paused: Bool = false, lastRunStart: Double?,
                    newLabels: Int, normal: Int, abnormal: Int, validation: Int = 1, batchSize: Int = 2) {
            (self.now, self.requested, self.trainingNow, self.paused) = (now, requested, trainingNow, paused)
            (self.lastRunStart, self.newLabels, self.normal, self.abnormal) = (lastRunStart, newLabels, normal, abnormal)
            (self.validation, self.batchSize) = (validation, batchSize)
        }
    }

    public enum Decision: Equatable, Sendable {
        case start(reason: String)
        case wait(reason: String)
    }

    public func decide(_ f: Facts) -> Decision {
        if f.trainingNow { return .wait(reason: "a training run is in progress") }
        if f.normal < minPerClass || f.abnormal < minPerClass {
            return .wait(reason: "training needs at least \(minPerClass) normal and \(minPerClass) abnormal scans (have \(f.normal) and \(f.abnormal))")
        }
        if f.validation < 1 {
            return .wait(reason: "none of the \(f.normal + f.abnormal) labelled scans fell on the validation side of the split (about 30 % do); add scans")
        }
        if f.normal + f.abnormal - f.validation < f.batchSize {
            return .wait(reason: "fewer training scans than one batch of \(f.batchSize)")
        }
        if f.requested { return .start(reason: "requested") }
        if f.paused { return .wait(reason: "scheduled training is paused") }
        if f.newLabels < minNewLabels {
            return .wait(reason: "\(f.newLabels) new labelled scans since the last run; retraining starts at \(minNewLabels)")
        }
        if let last = f.lastRunStart, f.now - last < interval {
            return .wait(reason: "the last run started \(Int(f.now - last)) s ago; the interval is \(Int(interval)) s")
        }
        return .start(reason: "\(f.newLabels) new labelled scans")
    }
}
