import CRDKafka
import Foundation
import Logging
import MeridianCore
import Metrics
import Synchronization

/// What librdkafka's callbacks need: a logger and the metrics fed by its statistics.
///
/// Passed to librdkafka as the client opaque; it lives as long as the client handle.
final class KafkaClientContext: Sendable {
    let logger: Logger
    let group: String?
    private let queueMessages: Gauge
    private let produceLatencyP99: Gauge
    private let factory: any MetricsFactory
    private let lagGauges = Mutex<[String: Gauge]>([:])

    init(logger: Logger, group: String?, metrics factory: any MetricsFactory) {
        self.logger = logger
        self.group = group
        self.factory = factory
        self.queueMessages = Gauge(
            label: "meridian_kafka_producer_queue_messages", dimensions: [("client", group ?? "producer")],
            factory: factory)
        self.produceLatencyP99 = Gauge(label: "meridian_kafka_produce_latency_p99_seconds", factory: factory)
    }

    /// Applies one statistics document (librdkafka's `statistics.interval.ms` JSON).
    func applyStatistics(_ json: [UInt8]) {
        guard let object = try? JSONSerialization.jsonObject(with: Data(json)) as? [String: Any] else { return }
        if object["type"] as? String == "producer" {
            if let count = (object["msg_cnt"] as? NSNumber)?.intValue { queueMessages.record(count) }
            if let brokers = object["brokers"] as? [String: Any] {
                let p99 = brokers.values.compactMap { broker -> Double? in
                    guard let broker = broker as? [String: Any], let latency = broker["int_latency"] as? [String: Any]
                    else { return nil }
                    return (latency["p99"] as? NSNumber)?.doubleValue
                }.max()
                // int_latency is the time a message waits in the producer queue, in microseconds.
                if let p99 { produceLatencyP99.record(p99 / 1_000_000) }
            }
        }
        if let group, let topics = object["topics"] as? [String: Any] {
            for (topic, value) in topics {
                guard let partitions = (value as? [String: Any])?["partitions"] as? [String: Any] else { continue }
                var lag: Int64 = 0
                var known = false
                for (id, partition) in partitions where id != "-1" {
                    if let partitionLag = ((partition as? [String: Any])?["consumer_lag"] as? NSNumber)?.int64Value,
                        partitionLag >= 0
                    {
                        lag += partitionLag
                        known = true
                    }
                }
                if known { lagGauge(topic: topic, group: group).record(lag) }
            }
        }
    }

    private func lagGauge(topic: String, group: String) -> Gauge {
        lagGauges.withLock { gauges in
            if let gauge = gauges[topic] { return gauge }
            let gauge = Gauge(
                label: "meridian_eventlog_consumer_lag", dimensions: [("topic", topic), ("group", group)],
                factory: factory)
            gauges[topic] = gauge
            return gauge
        }
    }
}

/// Installs the log and statistics callbacks and the context as the client opaque.
func installCallbacks(conf: OpaquePointer, context: KafkaClientContext) {
    rd_kafka_conf_set_opaque(conf, Unmanaged.passUnretained(context).toOpaque())
    rd_kafka_conf_set_log_cb(conf) { handle, level, facility, message in
        guard let handle, let opaque = rd_kafka_opaque(handle) else { return }
        let context = Unmanaged<KafkaClientContext>.fromOpaque(opaque).takeUnretainedValue()
        let text = message.map { String(cString: $0) } ?? ""
        let facilityName = facility.map { String(cString: $0) } ?? ""
        guard let repeats = LibrdkafkaLogThrottle.shared.admit(facility: facilityName, message: text) else { return }
        var metadata: Logger.Metadata = ["kafka.facility": .string(facilityName)]
        if repeats > 0 { metadata["suppressed"] = .stringConvertible(repeats) }
        switch level {
        case 0...3: context.logger.error("librdkafka: \(text)", metadata: metadata)
        case 4: context.logger.warning("librdkafka: \(text)", metadata: metadata)
        case 5, 6: context.logger.info("librdkafka: \(text)", metadata: metadata)
        default: context.logger.debug("librdkafka: \(text)", metadata: metadata)
        }
    }
    rd_kafka_conf_set_stats_cb(conf) { _, json, length, opaque in
        guard let opaque, let json else { return 0 }
        let context = Unmanaged<KafkaClientContext>.fromOpaque(opaque).takeUnretainedValue()
        context.applyStatistics(bytes(json, length))
        return 0
    }
}

/// Lets each kind of librdkafka log line through once a minute across the process: an unreachable broker
/// otherwise makes every client (the producer and each consumer) log the same failure again and again.
final class LibrdkafkaLogThrottle: Sendable {
    static let shared = LibrdkafkaLogThrottle()

    private let interval: Double = 60
    private let seen = Mutex<[String: (at: Double, suppressed: Int)]>([:])

    /// nil when the line is a repeat to drop; otherwise how many like it were dropped since it last passed.
    func admit(facility: String, message: String) -> Int? {
        // One kind: the facility and the text without numbers and the parenthesised counts and timings.
        var kind = facility + ":"
        for character in message.prefix(while: { $0 != "(" })
        where !character.isNumber {
            kind.append(character)
        }
        let now = monotonicSeconds()
        return seen.withLock { seen -> Int? in
            if let last = seen[kind], now - last.at < interval {
                seen[kind] = (last.at, last.suppressed + 1)
                return nil
            }
            let suppressed = seen[kind]?.suppressed ?? 0
            if seen.count > 1000 { seen.removeAll() }
            seen[kind] = (now, 0)
            return suppressed
        }
    }
}

/// Reads librdkafka's error text buffer.
func errorString(_ buffer: [CChar]) -> String {
    String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
}
