import CRDKafka
import MeridianCore

/// Settings of the Kafka adapter. Every property is a librdkafka property in the end; anything not
/// modelled here can be passed through ``properties`` (TLS, SASL, OAUTHBEARER, client rack, ...).
public struct KafkaConfiguration: Sendable {
    /// `bootstrap.servers`: `HOST:PORT,...`. Default `127.0.0.1:9092`.
    public var brokers: String = "127.0.0.1:9092"
    /// `client.id`. Default `meridian`.
    public var clientID: String = "meridian"
    /// `linger.ms`: how long the producer waits to fill a batch. Default 2: clients wait for the
    /// acknowledgement, so the linger is part of every request's latency (docs/benchmarks.md).
    public var lingerMilliseconds: Int = 2
    /// `batch.size` in bytes. Default 1,000,000.
    public var batchBytes: Int = 1_000_000
    /// `compression.codec`: `none`, `gzip`, `snappy`, `lz4` or `zstd`. Default `lz4`.
    public var compression: String = "lz4"
    /// `message.timeout.ms`: a record not acknowledged by then fails (retries happen inside it). Default 15,000.
    public var messageTimeoutMilliseconds: Int = 15_000
    /// `queue.buffering.max.messages`: the producer's bounded buffer; beyond it appends fail with `queueFull`. Default 100,000.
    public var queueMaxMessages: Int = 100_000
    /// `queue.buffering.max.kbytes`. Default 262,144 (256 MiB).
    public var queueMaxKilobytes: Int = 262_144
    /// `statistics.interval.ms` feeding the client metrics; 0 turns statistics off. Default 5,000.
    public var statisticsIntervalMilliseconds: Int = 5_000
    /// Longest time a broker holds a consumer's fetch when it has no data (`fetch.wait.max.ms`). Default 100:
    /// real brokers answer as soon as data arrives, librdkafka's mock cluster only after this wait, so it
    /// bounds each hop of the order saga there.
    public var fetchWaitMilliseconds: Int = 100
    /// Replication factor of topics Meridian creates; -1 leaves it to the broker default. Default -1.
    public var replicationFactor: Int = -1
    /// Partitions of topics Meridian creates. Default 6.
    public var partitions: Int32 = 6
    /// Extra librdkafka properties, applied last (they win).
    public var properties: [String: String] = [:]

    public init() {}

    /// The properties of the idempotent, acks=all producer.
    var producerProperties: [(String, String)] {
        var result: [(String, String)] = [
            ("bootstrap.servers", brokers),
            ("client.id", clientID),
            ("enable.idempotence", "true"),
            ("acks", "all"),
            ("linger.ms", String(lingerMilliseconds)),
            ("batch.size", String(batchBytes)),
            ("compression.codec", compression),
            ("message.timeout.ms", String(messageTimeoutMilliseconds)),
            ("queue.buffering.max.messages", String(queueMaxMessages)),
            ("queue.buffering.max.kbytes", String(queueMaxKilobytes)),
            ("statistics.interval.ms", String(statisticsIntervalMilliseconds)),
        ]
        // Consumer-only settings in the pass-through map would make librdkafka warn; keep the rest.
        let consumerOnly: Set<String> = [
            "session.timeout.ms", "heartbeat.interval.ms", "max.poll.interval.ms", "auto.offset.reset",
            "group.instance.id", "partition.assignment.strategy", "fetch.min.bytes", "fetch.wait.max.ms",
            "fetch.max.bytes", "isolation.level",
        ]
        result += properties.sorted { $0.key < $1.key }.filter { !consumerOnly.contains($0.key) }.map { ($0.key, $0.value) }
        return result
    }

    /// The properties of an at-least-once group consumer.
    func consumerProperties(group: String, commit: Bool) -> [(String, String)] {
        var result: [(String, String)] = [
            ("bootstrap.servers", brokers),
            ("client.id", clientID),
            ("group.id", group),
            ("enable.auto.offset.store", "false"),
            ("enable.auto.commit", commit ? "true" : "false"),
            ("auto.commit.interval.ms", "1000"),
            ("auto.offset.reset", "earliest"),
            ("statistics.interval.ms", String(statisticsIntervalMilliseconds)),
            ("fetch.wait.max.ms", String(fetchWaitMilliseconds)),
        ]
        let producerOnly: Set<String> = [
            "enable.idempotence", "acks", "linger.ms", "batch.size", "compression.codec", "compression.type",
            "message.timeout.ms", "queue.buffering.max.messages", "queue.buffering.max.kbytes", "request.required.acks",
        ]
        result += properties.sorted { $0.key < $1.key }.filter { !producerOnly.contains($0.key) }.map { ($0.key, $0.value) }
        return result
    }
}

/// Builds a librdkafka configuration object, failing on the first property librdkafka refuses.
func makeConf(_ properties: [(String, String)]) throws -> OpaquePointer {
    guard let conf = rd_kafka_conf_new() else { throw EventLogError(.other, "rd_kafka_conf_new failed") }
    var errorText = [CChar](repeating: 0, count: 512)
    for (name, value) in properties {
        if rd_kafka_conf_set(conf, name, value, &errorText, errorText.count) != RD_KAFKA_CONF_OK {
            rd_kafka_conf_destroy(conf)
            let reason = String(decoding: errorText.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
            throw EventLogError(.other, "Kafka property \(name): \(reason)")
        }
    }
    return conf
}

/// A librdkafka handle; librdkafka's handles are thread-safe.
struct KafkaHandle: @unchecked Sendable {
    let raw: OpaquePointer
}

extension EventLogError {
    /// Maps a librdkafka error code onto the event log's error codes.
    init(kafka code: rd_kafka_resp_err_t) {
        let message = String(cString: rd_kafka_err2str(code))
        switch code {
        case RD_KAFKA_RESP_ERR__QUEUE_FULL:
            self.init(.queueFull, message)
        case RD_KAFKA_RESP_ERR_MSG_SIZE_TOO_LARGE,
            RD_KAFKA_RESP_ERR_RECORD_LIST_TOO_LARGE:
            self.init(.recordTooLarge, message)
        case RD_KAFKA_RESP_ERR_INVALID_RECORD, RD_KAFKA_RESP_ERR_INVALID_MSG, RD_KAFKA_RESP_ERR__BAD_MSG,
            RD_KAFKA_RESP_ERR_INVALID_TIMESTAMP:
            self.init(.invalidRecord, message)
        case RD_KAFKA_RESP_ERR_TOPIC_AUTHORIZATION_FAILED, RD_KAFKA_RESP_ERR_CLUSTER_AUTHORIZATION_FAILED,
            RD_KAFKA_RESP_ERR_TRANSACTIONAL_ID_AUTHORIZATION_FAILED, RD_KAFKA_RESP_ERR_SASL_AUTHENTICATION_FAILED,
            RD_KAFKA_RESP_ERR__AUTHENTICATION:
            self.init(.authorization, message)
        case RD_KAFKA_RESP_ERR__MSG_TIMED_OUT, RD_KAFKA_RESP_ERR__TIMED_OUT, RD_KAFKA_RESP_ERR_REQUEST_TIMED_OUT:
            self.init(.timedOut, message)
        case RD_KAFKA_RESP_ERR__UNKNOWN_TOPIC, RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART:
            self.init(.unknownTopic, message)
        case RD_KAFKA_RESP_ERR__TRANSPORT, RD_KAFKA_RESP_ERR__ALL_BROKERS_DOWN, RD_KAFKA_RESP_ERR__FATAL:
            self.init(.unavailable, message)
        default:
            self.init(.other, "\(message) (\(code.rawValue))")
        }
    }
}

/// Copies a C buffer into a byte array.
func bytes(_ pointer: UnsafeRawPointer?, _ count: Int) -> [UInt8] {
    guard let pointer, count > 0 else { return [] }
    return Array(UnsafeRawBufferPointer(start: pointer, count: count))
}

/// A topic as a metadata response describes it.
struct TopicMetadata {
    var name: String
    var partitions: [Int32]
    var error: rd_kafka_resp_err_t
}

/// The cluster's topics and their partitions, from one blocking metadata request.
func fetchTopicMetadata(_ handle: OpaquePointer, timeoutMilliseconds: Int32 = 10_000) throws -> [TopicMetadata] {
    var metadata: UnsafePointer<rd_kafka_metadata>?
    let code = rd_kafka_metadata(handle, 1, nil, &metadata, timeoutMilliseconds)
    guard code == RD_KAFKA_RESP_ERR_NO_ERROR, let metadata else { throw EventLogError(kafka: code) }
    defer { rd_kafka_metadata_destroy(metadata) }
    return (0..<Int(metadata.pointee.topic_cnt)).map { index in
        let topic = metadata.pointee.topics[index]
        return TopicMetadata(
            name: String(cString: topic.topic),
            partitions: (0..<Int(topic.partition_cnt)).map { topic.partitions[$0].id },
            error: topic.err)
    }
}
