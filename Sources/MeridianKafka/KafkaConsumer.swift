import CRDKafka
import Foundation
import Logging
import MeridianCore
import Metrics
import NIOPosix
import Synchronization

/// A librdkafka group consumer with at-least-once delivery.
///
/// Offsets are stored (`enable.auto.offset.store=false`) only when ``commit(_:)`` is called after
/// processing; librdkafka commits stored offsets in the background and on close. Blocking calls run
/// on the consumer's own thread, never on the cooperative pool.
final class KafkaConsumer: EventLogConsumer {
    private let handle: KafkaHandle
    private let queue: KafkaHandle
    private let context: KafkaClientContext
    private let thread: NIOThreadPool
    private let closed = Mutex(false)

    init(configuration: KafkaConfiguration, options: ConsumerOptions, logger: Logger, metrics: any MetricsFactory) throws {
        let group: String
        let commits: Bool
        if let name = options.group, !options.fromBeginning {
            group = name
            commits = true
        } else {
            // Reading without a group (or from the beginning): a throw-away group that commits nothing.
            group = "meridian-reader-\(UUID().uuidString.lowercased())"
            commits = false
        }
        let conf = try makeConf(configuration.consumerProperties(group: group, commit: commits))
        let context = KafkaClientContext(logger: logger, group: commits ? group : nil, metrics: metrics)
        installCallbacks(conf: conf, context: context)
        var errorText = [CChar](repeating: 0, count: 512)
        guard let raw = rd_kafka_new(RD_KAFKA_CONSUMER, conf, &errorText, errorText.count) else {
            rd_kafka_conf_destroy(conf)
            throw EventLogError(.other, "cannot create the Kafka consumer: \(errorString(errorText))")
        }
        rd_kafka_poll_set_consumer(raw)
        let code: rd_kafka_resp_err_t
        if commits {
            let topics = rd_kafka_topic_partition_list_new(Int32(options.topics.count))
            for topic in options.topics {
                rd_kafka_topic_partition_list_add(topics, topic, RD_KAFKA_PARTITION_UA)
            }
            code = rd_kafka_subscribe(raw, topics)
            rd_kafka_topic_partition_list_destroy(topics)
        } else {
            // No group to join: read every partition from the beginning straight away.
            code = Self.assignFromBeginning(raw, topics: Set(options.topics))
        }
        guard code == RD_KAFKA_RESP_ERR_NO_ERROR else {
            rd_kafka_destroy(raw)
            throw EventLogError(kafka: code)
        }
        self.handle = KafkaHandle(raw: raw)
        self.queue = KafkaHandle(raw: rd_kafka_queue_get_consumer(raw))
        self.context = context
        self.thread = NIOThreadPool(numberOfThreads: 1)
        self.thread.start()
    }

    private static func assignFromBeginning(_ raw: OpaquePointer, topics: Set<String>) -> rd_kafka_resp_err_t {
        let metadata: [TopicMetadata]
        do {
            metadata = try fetchTopicMetadata(raw)
        } catch {
            return RD_KAFKA_RESP_ERR__TRANSPORT
        }
        let wanted = metadata.filter { topics.contains($0.name) }
        guard Set(wanted.map(\.name)) == topics else { return RD_KAFKA_RESP_ERR__UNKNOWN_TOPIC }
        let list = rd_kafka_topic_partition_list_new(16)
        defer { rd_kafka_topic_partition_list_destroy(list) }
        for topic in wanted {
            for partition in topic.partitions {
                rd_kafka_topic_partition_list_add(list, topic.name, partition)?.pointee.offset = Int64(
                    RD_KAFKA_OFFSET_BEGINNING)
            }
        }
        return rd_kafka_assign(raw, list)
    }

    func poll(maxRecords: Int, timeout: Duration) async throws -> [ConsumedRecord] {
        let milliseconds = Int32(clamping: timeout.milliseconds)
        let queue = self.queue
        let context = self.context
        return try await thread.runIfActive {
            // `rd_kafka_consume_batch_queue` returns only when the batch is full or the timeout passed, so
            // wait for the first message alone, then take what is already there without waiting.
            var messages = [UnsafeMutablePointer<rd_kafka_message_t>?](repeating: nil, count: max(maxRecords, 1))
            var count = messages.withUnsafeMutableBufferPointer { buffer in
                rd_kafka_consume_batch_queue(queue.raw, milliseconds, buffer.baseAddress, 1)
            }
            guard count > 0 else { return [] }
            if messages.count > 1 {
                let more = messages.withUnsafeMutableBufferPointer { buffer in
                    rd_kafka_consume_batch_queue(queue.raw, 0, buffer.baseAddress! + 1, buffer.count - 1)
                }
                if more > 0 { count += more }
            }
            var records: [ConsumedRecord] = []
            records.reserveCapacity(count)
            for message in messages.prefix(count) {
                guard let message else { continue }
                defer { rd_kafka_message_destroy(message) }
                let error = message.pointee.err
                if error != RD_KAFKA_RESP_ERR_NO_ERROR {
                    if error != RD_KAFKA_RESP_ERR__PARTITION_EOF {
                        context.logger.warning(
                            "Kafka consumer error", metadata: ["error": .string(String(cString: rd_kafka_err2str(error)))])
                    }
                    continue
                }
                records.append(Self.record(from: message))
            }
            return records
        }
    }

    private static func record(from message: UnsafeMutablePointer<rd_kafka_message_t>) -> ConsumedRecord {
        let m = message.pointee
        var headers: [EventHeader] = []
        var list: OpaquePointer?
        if rd_kafka_message_headers(message, &list) == RD_KAFKA_RESP_ERR_NO_ERROR, let list {
            var index = 0
            var name: UnsafePointer<CChar>?
            var value: UnsafeRawPointer?
            var size = 0
            while rd_kafka_header_get_all(list, index, &name, &value, &size) == RD_KAFKA_RESP_ERR_NO_ERROR {
                headers.append(EventHeader(name: name.map { String(cString: $0) } ?? "", value: bytes(value, size)))
                index += 1
            }
        }
        var timestampType = RD_KAFKA_TIMESTAMP_NOT_AVAILABLE
        let timestamp = rd_kafka_message_timestamp(message, &timestampType)
        return ConsumedRecord(
            topic: m.rkt.map { String(cString: rd_kafka_topic_name($0)) } ?? "",
            partition: m.partition,
            offset: m.offset,
            key: m.key == nil ? nil : bytes(m.key, m.key_len),
            value: bytes(m.payload, m.len),
            headers: headers,
            timestamp: timestamp >= 0 ? Date(timeIntervalSince1970: Double(timestamp) / 1000) : Date()
        )
    }

    func commit(_ records: [ConsumedRecord]) async throws {
        guard !records.isEmpty else { return }
        var next: [String: [Int32: Int64]] = [:]
        for record in records {
            next[record.topic, default: [:]][record.partition] = max(
                next[record.topic]?[record.partition] ?? 0, record.offset + 1)
        }
        let list = rd_kafka_topic_partition_list_new(Int32(records.count))
        defer { rd_kafka_topic_partition_list_destroy(list) }
        for (topic, partitions) in next {
            for (partition, offset) in partitions {
                rd_kafka_topic_partition_list_add(list, topic, partition)?.pointee.offset = offset
            }
        }
        let code = rd_kafka_offsets_store(handle.raw, list)
        // A partition revoked by a rebalance cannot be stored; its next owner re-reads it (at-least-once).
        if code != RD_KAFKA_RESP_ERR_NO_ERROR && code != RD_KAFKA_RESP_ERR__STATE {
            throw EventLogError(kafka: code)
        }
    }

    func close() async {
        let first = closed.withLock { closed -> Bool in
            defer { closed = true }
            return !closed
        }
        guard first else { return }
        let handle = self.handle
        let queue = self.queue
        try? await thread.runIfActive {
            // Commit what was stored, leave the group (so a successor is assigned at once), then free.
            _ = rd_kafka_commit(handle.raw, nil, 0)
            _ = rd_kafka_consumer_close(handle.raw)
            rd_kafka_queue_destroy(queue.raw)
            rd_kafka_destroy(handle.raw)
        }
        try? await thread.shutdownGracefully()
    }
}
