import Metrics

/// The CSV ingest metrics (swift-metrics, exported by the process's Prometheus registry):
///
/// - `meridian_ingest_csv_rows_total{status}`: rows that became events (`published`) or were rejected
///   (`rejected`: to the error report and `events-dlq`), counted once their batch is durable;
/// - `meridian_ingest_csv_bytes_total`: source bytes read past a durable checkpoint;
/// - `meridian_ingest_csv_jobs{status}`: a gauge, the number of jobs in each status as the jobs table holds them
///   (set by ``CSVIngestService`` at each poll; every process reports the whole table, so aggregate with `max`).
public struct IngestMetrics: Sendable {
    let published: Counter
    let rejected: Counter
    let bytes: Counter
    let jobs: [IngestJobStatus: Gauge]

    public init(factory: any MetricsFactory = MetricsSystem.factory) {
        published = Counter(label: "meridian_ingest_csv_rows_total", dimensions: [("status", "published")], factory: factory)
        rejected = Counter(label: "meridian_ingest_csv_rows_total", dimensions: [("status", "rejected")], factory: factory)
        bytes = Counter(label: "meridian_ingest_csv_bytes_total", factory: factory)
        var jobs: [IngestJobStatus: Gauge] = [:]
        for status in IngestJobStatus.allCases {
            jobs[status] = Gauge(
                label: "meridian_ingest_csv_jobs", dimensions: [("status", status.metricLabel)], factory: factory)
        }
        self.jobs = jobs
    }

    func batch(published: Int, rejected: Int, bytes: Int64) {
        if published > 0 { self.published.increment(by: published) }
        if rejected > 0 { self.rejected.increment(by: rejected) }
        if bytes > 0 { self.bytes.increment(by: bytes) }
    }

    func jobCounts(_ counts: [IngestJobStatus: Int]) {
        for (status, gauge) in jobs { gauge.record(counts[status] ?? 0) }
    }
}
