import CRDKafka
import Foundation
import Logging
import MeridianCore
import Metrics
import NIOPosix
import ServiceLifecycle
import Synchronization

/// The event log on Kafka: one long-lived idempotent producer, group consumers, and admin calls.
///
/// As a `Service` it starts its delivery-report thread in `run()` and runs until graceful shutdown, then
/// flushes the producer (bounded by `flushTimeout`) so every accepted append gets its broker acknowledgement
/// or a final error.
public final class KafkaEventLog: EventLog, Service {
    public let configuration: KafkaConfiguration
    private let producer: KafkaProducer
    private let logger: Logger
    private let metrics: any MetricsFactory
    private let flushTimeout: Duration
    /// Blocking admin and metadata calls run here.
    private let blocking: NIOThreadPool
    private let reachability = Mutex<(at: ContinuousClock.Instant, reachable: Bool)?>(nil)

    public init(
        configuration: KafkaConfiguration,
        logger: Logger,
        metrics: any MetricsFactory = MetricsSystem.factory,
        flushTimeout: Duration = .seconds(30)
    ) throws {
        self.configuration = configuration
        self.logger = logger
        self.metrics = metrics
        self.flushTimeout = flushTimeout
        self.producer = try KafkaProducer(configuration: configuration, logger: logger, metrics: metrics)
        self.blocking = NIOThreadPool(numberOfThreads: 1)
        self.blocking.start()
    }

    /// Starts serving delivery reports (appends complete from then on) and runs until graceful shutdown or
    /// cancellation, then flushes and closes. Outside a service group: `Task { try await log.run() }`.
    public func run() async throws {
        producer.startPolling()
        try? await gracefulShutdown()
        await close()
    }

    /// Flushes and closes the producer; appends after this fail with `closed`.
    public func close() async {
        let producer = self.producer
        let timeout = flushTimeout
        try? await blocking.runIfActive { producer.close(timeout: timeout) }
        try? await blocking.shutdownGracefully()
    }

    public func append(_ records: [EventRecord]) async -> [Result<RecordPosition, EventLogError>] {
        await producer.produce(records)
    }

    public func createTopics(_ requested: [TopicSpec]) async throws {
        let existing = Set(try await topicNames())
        let topics = requested.filter { !existing.contains($0.name) }
        guard !topics.isEmpty else { return }
        let handle = producer.handle
        let replication = Int32(configuration.replicationFactor)
        let timeoutMilliseconds = Int32(configuration.messageTimeoutMilliseconds)
        try await blocking.runIfActive {
            var errorText = [CChar](repeating: 0, count: 512)
            var newTopics: [OpaquePointer?] = []
            defer { for topic in newTopics { rd_kafka_NewTopic_destroy(topic) } }
            for spec in topics {
                guard let topic = rd_kafka_NewTopic_new(spec.name, spec.partitions, replication, &errorText, errorText.count)
                else { throw EventLogError(.other, "topic \(spec.name): \(errorString(errorText))") }
                newTopics.append(topic)
            }
            let queue = rd_kafka_queue_new(handle.raw)
            defer { rd_kafka_queue_destroy(queue) }
            let options = rd_kafka_AdminOptions_new(handle.raw, RD_KAFKA_ADMIN_OP_CREATETOPICS)
            defer { rd_kafka_AdminOptions_destroy(options) }
            _ = rd_kafka_AdminOptions_set_operation_timeout(options, timeoutMilliseconds, &errorText, errorText.count)
            rd_kafka_CreateTopics(handle.raw, &newTopics, newTopics.count, options, queue)
            guard let event = rd_kafka_queue_poll(queue, timeoutMilliseconds + 1000) else {
                throw EventLogError(.timedOut, "creating topics timed out")
            }
            defer { rd_kafka_event_destroy(event) }
            if rd_kafka_event_error(event) != RD_KAFKA_RESP_ERR_NO_ERROR {
                throw EventLogError(kafka: rd_kafka_event_error(event))
            }
            guard let result = rd_kafka_event_CreateTopics_result(event) else { return }
            var count = 0
            guard let results = rd_kafka_CreateTopics_result_topics(result, &count) else { return }
            for index in 0..<count {
                let code = rd_kafka_topic_result_error(results[index])
                if code != RD_KAFKA_RESP_ERR_NO_ERROR && code != RD_KAFKA_RESP_ERR_TOPIC_ALREADY_EXISTS {
                    let name = String(cString: rd_kafka_topic_result_name(results[index]))
                    throw EventLogError(kafka: code).withMessage("topic \(name): ")
                }
            }
        }
    }

    /// The names of the cluster's topics, from one metadata request.
    private func topicNames() async throws -> [String] {
        let handle = producer.handle
        return try await blocking.runIfActive { try fetchTopicMetadata(handle.raw).map(\.name) }
    }

    public func describeTopics() async throws -> [TopicDescription] {
        let handle = producer.handle
        return try await blocking.runIfActive {
            var topics: [TopicDescription] = []
            for topic in try fetchTopicMetadata(handle.raw)
            where !topic.name.hasPrefix("__") && topic.error == RD_KAFKA_RESP_ERR_NO_ERROR {
                var partitions: [TopicDescription.Partition] = []
                for id in topic.partitions.sorted() {
                    var low: Int64 = 0
                    var high: Int64 = 0
                    let watermarks = rd_kafka_query_watermark_offsets(handle.raw, topic.name, id, &low, &high, 10_000)
                    if watermarks != RD_KAFKA_RESP_ERR_NO_ERROR { throw EventLogError(kafka: watermarks) }
                    partitions.append(.init(id: id, startOffset: low, endOffset: high))
                }
                topics.append(TopicDescription(name: topic.name, partitions: partitions))
            }
            return topics.sorted { $0.name < $1.name }
        }
    }

    public func makeConsumer(_ options: ConsumerOptions) async throws -> any EventLogConsumer {
        try KafkaConsumer(configuration: configuration, options: options, logger: logger, metrics: metrics)
    }

    /// Asks the cluster for metadata; the answer is cached for a second so probes stay cheap.
    public func isReachable() async -> Bool {
        let now = ContinuousClock.now
        if let cached = reachability.withLock({ $0 }), cached.at.duration(to: now) < .seconds(1) {
            return cached.reachable
        }
        let producer = self.producer
        let reachable = (try? await blocking.runIfActive { producer.isReachable(timeout: .seconds(2)) }) ?? false
        reachability.withLock { $0 = (now, reachable) }
        return reachable
    }
}

extension EventLogError {
    func withMessage(_ prefix: String) -> EventLogError {
        EventLogError(code, prefix + message)
    }
}
