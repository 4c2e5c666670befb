@testable import Daemon
import Testing

@Suite struct MetricsTests {
    @Test func prometheusTextHasHelpTypeAndCumulativeBuckets() {
        let text = PrometheusText.render([
            .init(name: "ctd_files_total", help: "Files.", type: "counter",
                  samples: [.init(labels: "outcome=\"archived\"", value: 3), .init(labels: "outcome=\"rejected\"", value: 1)]),
            PrometheusText.histogram(name: "ctd_report_latency_seconds", help: "Latency.", buckets: [0.5, 1], counts: [2, 1, 1], sum: 3.25),
        ])
        #expect(text == """
            # HELP ctd_files_total Files.
            # TYPE ctd_files_total counter
            ctd_files_total{outcome="archived"} 3
            ctd_files_total{outcome="rejected"} 1
            # HELP ctd_report_latency_seconds Latency.
            # TYPE ctd_report_latency_seconds histogram
            ctd_report_latency_seconds_bucket{le="0.5"} 2
            ctd_report_latency_seconds_bucket{le="1.0"} 3
            ctd_report_latency_seconds_bucket{le="+Inf"} 4
            ctd_report_latency_seconds_sum 3.25
            ctd_report_latency_seconds_count 4

            """)
    }

    @Test func latenciesFallIntoTheirBuckets() {
        let metrics = Metrics()
        metrics.observeReport(latency: 0.2)
        metrics.observeReport(latency: 0.9)
        metrics.observeReport(latency: 1000)
        let snapshot = metrics.snapshot
        #expect(snapshot.latencyCounts[0] == 1 && snapshot.latencyCounts[2] == 1 && snapshot.latencyCounts.last == 1)
        #expect(snapshot.latencySum == 1001.1)
    }
}
