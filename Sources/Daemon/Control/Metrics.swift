import Foundation

/// Counters and timings since the daemon started, for `ctctl metrics` (Prometheus text format).
/// Totals that must survive a restart (files, predictions, runs) come from the catalog instead.
final class Metrics: @unchecked Sendable {
    private let lock = NSLock()
    /// Upper bounds (seconds) of the report-latency histogram's buckets.
    static let latencyBuckets: [Double] = [0.25, 0.5, 1, 2, 5, 10, 30, 60]
    private var latencyCounts = [Int](repeating: 0, count: latencyBuckets.count + 1)
    private var latencySum = 0.0
    private var requests: [String: Int] = [:]

    func observeReport(latency seconds: Double) {
        lock.withLock {
            let bucket = Self.latencyBuckets.firstIndex { seconds <= $0 } ?? Self.latencyBuckets.count
            latencyCounts[bucket] += 1
            latencySum += seconds
        }
    }

    func countRequest(_ command: String) { lock.withLock { requests[command, default: 0] += 1 } }

    struct Snapshot {
        var latencyCounts: [Int]
        var latencySum: Double
        var requests: [String: Int]
    }

    var snapshot: Snapshot { lock.withLock { Snapshot(latencyCounts: latencyCounts, latencySum: latencySum, requests: requests) } }
}

/// The Prometheus text exposition format (version 0.0.4): HELP, TYPE, then samples.
enum PrometheusText {
    struct Sample {
        /// Appended to the family's name: "" for counters and gauges, "_bucket"/"_sum"/"_count" for histograms.
        var suffix = ""
        var labels = ""
        var value: Double
    }

    struct Family {
        var name: String
        var help: String
        var type: String
        var samples: [Sample]
    }

    static func render(_ families: [Family]) -> String {
        var lines: [String] = []
        for family in families {
            lines.append("# HELP \(family.name) \(family.help)")
            lines.append("# TYPE \(family.name) \(family.type)")
            for sample in family.samples {
                let labels = sample.labels.isEmpty ? "" : "{\(sample.labels)}"
                lines.append("\(family.name)\(sample.suffix)\(labels) \(format(sample.value))")
            }
        }
        return lines.joined(separator: "\n") + "\n"
    }

    static func format(_ value: Double) -> String {
        if value.isNaN { return "NaN" }
        if value.isInfinite { return value > 0 ? "+Inf" : "-Inf" }
        if value == value.rounded(), abs(value) < 1e15 { return String(Int64(value)) }
        return String(value)
    }

    static func histogram(name: String, help: String, buckets: [Double], counts: [Int], sum: Double) -> Family {
        var samples: [Sample] = []
        var cumulative = 0
        for (index, bound) in buckets.enumerated() {
            cumulative += counts[index]
            samples.append(Sample(suffix: "_bucket", labels: "le=\"\(bound)\"", value: Double(cumulative)))
        }
        cumulative += counts[buckets.count]
        samples.append(Sample(suffix: "_bucket", labels: "le=\"+Inf\"", value: Double(cumulative)))
        samples.append(Sample(suffix: "_sum", value: sum))
        samples.append(Sample(suffix: "_count", value: Double(cumulative)))
        return Family(name: name, help: help, type: "histogram", samples: samples)
    }
}
