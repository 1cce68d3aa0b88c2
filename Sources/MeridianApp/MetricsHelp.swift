import Foundation

/// The `# HELP` text of every metric Meridian exports, put in front of its `# TYPE` line.
///
/// Written by hand: swift-metrics has no place for a description, and swift-prometheus' factory passes
/// none, so `/metrics` would have no `# HELP` lines. A metric missing here gets a line naming itself, and a
/// test fails until it is described.
enum MetricsHelp {
    static let descriptions: [String: String] = [
        "meridian_http_requests_total": "HTTP requests answered, by route, method and status.",
        "meridian_http_request_duration_seconds": "Time to answer an HTTP request, by route and method.",
        "meridian_ingest_events_total":
            "Events by ingest outcome: accepted, rejected, rate_limited, shed, duplicate, published, dead_lettered, failed.",
        "meridian_ingest_inflight_events": "Events admitted and not yet answered.",
        "meridian_ingest_publish_duration_seconds": "Time from admitting events to the event log's acknowledgement.",
        "meridian_kafka_producer_queue_messages": "Messages waiting in the Kafka producer's queue.",
        "meridian_kafka_produce_latency_p99_seconds": "99th percentile of the time a message waits in the producer queue.",
        "meridian_eventlog_consumer_lag": "Records a consumer group has yet to read, by topic.",
        "meridian_outbox_pending": "Outbox records not yet published, by service.",
        "meridian_orders_total": "Orders that reached each status.",
        "meridian_payments_total": "Payments by outcome.",
        "meridian_ingest_csv_rows_total": "CSV rows of ingest jobs, published or rejected (to the error report and events-dlq).",
        "meridian_ingest_csv_bytes_total": "Bytes of CSV files read by ingest jobs.",
        "meridian_ingest_csv_jobs": "Ingest jobs by status, as the jobs table has them (each process reports the whole table).",
        "meridian_analytics_events_total": "Events counted by each analytics job.",
        "meridian_analytics_late_events_total": "Events later than an analytics job's allowed lateness (dead-lettered).",
        "meridian_analytics_watermark_lag_seconds": "How far an analytics job's watermark is behind the wall clock.",
        "meridian_process_resident_memory_bytes": "Resident memory of the process.",
        "meridian_process_peak_resident_memory_bytes": "Peak resident memory of the process.",
    ]

    /// `exposition` with a `# HELP` line before each `# TYPE` line that has none.
    static func annotate(_ exposition: [UInt8]) -> [UInt8] {
        var output: [UInt8] = []
        output.reserveCapacity(exposition.count + 2048)
        let typePrefix = Array("# TYPE ".utf8)
        var lineStart = 0
        var index = 0
        while index <= exposition.count {
            if index == exposition.count || exposition[index] == UInt8(ascii: "\n") {
                let line = exposition[lineStart..<index]
                if line.starts(with: typePrefix) {
                    let name = String(
                        decoding: line.dropFirst(typePrefix.count).prefix { $0 != UInt8(ascii: " ") }, as: UTF8.self)
                    let help = descriptions[name] ?? name.replacingOccurrences(of: "_", with: " ")
                    output += Array("# HELP \(name) \(help)\n".utf8)
                }
                output += line
                if index < exposition.count { output.append(UInt8(ascii: "\n")) }
                lineStart = index + 1
            }
            index += 1
        }
        return output
    }
}
