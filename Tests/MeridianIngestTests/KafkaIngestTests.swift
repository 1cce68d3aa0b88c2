import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Logging
import MeridianApp
import MeridianCore
import MeridianHTTP
import MeridianIngest
import MeridianKafka
import Prometheus
import Testing

/// The ingest API on Kafka: librdkafka against its mock cluster, over TCP on 127.0.0.1.
@Suite(.serialized) struct KafkaIngestTests {
    struct Setup {
        let cluster: KafkaMockCluster
        let log: KafkaEventLog
        let ingestor: Ingestor
        let registry: PrometheusCollectorRegistry
        let application: Application<RouterResponder<MeridianRequestContext>>
    }

    func setUp(brokers: Int, messageTimeoutMs: Int) throws -> Setup {
        let cluster = try KafkaMockCluster(brokers: brokers)
        for topic in Topics().all {
            try cluster.createTopic(topic, partitions: 3, replicationFactor: Int32(brokers))
        }
        var configuration = KafkaConfiguration()
        configuration.brokers = cluster.bootstrapServers
        configuration.messageTimeoutMilliseconds = messageTimeoutMs
        configuration.lingerMilliseconds = 2
        configuration.properties["session.timeout.ms"] = "6000"
        let registry = PrometheusCollectorRegistry()
        let metrics = makeMetricsFactory(registry: registry)
        let log = try KafkaEventLog(
            configuration: configuration, logger: Logger(label: "test"), metrics: metrics, flushTimeout: .seconds(30))
        Task { try await log.run() }
        let ingestor = try Ingestor(
            eventLog: log, topics: Topics(), configuration: .init(), logger: Logger(label: "test"), metrics: metrics)
        let router = buildRouter(eventLog: log, ingestor: ingestor, registry: registry, metrics: metrics)
        return Setup(cluster: cluster, log: log, ingestor: ingestor, registry: registry, application: Application(router: router))
    }

    func read(_ log: KafkaEventLog, topic: String, expecting count: Int) async throws -> [ConsumedRecord] {
        let consumer = try await log.makeConsumer(ConsumerOptions(group: nil, topics: [topic], fromBeginning: true))
        var records: [ConsumedRecord] = []
        let deadline = ContinuousClock.now.advanced(by: .seconds(30))
        var quietSince = ContinuousClock.now
        while ContinuousClock.now < deadline {
            let batch = try await consumer.poll(maxRecords: 1000, timeout: .milliseconds(200))
            records += batch
            if !batch.isEmpty { quietSince = .now }
            if records.count >= count && quietSince.duration(to: .now) > .seconds(1) { break }
        }
        await consumer.close()
        return records
    }

    func metric(_ registry: PrometheusCollectorRegistry, _ name: String) -> Double? {
        registry.emitToString().split(separator: "\n").first { $0.hasPrefix(name + " ") }
            .flatMap { $0.split(separator: " ").last }.flatMap { Double($0) }
    }

    /// Clients post through the ingest pipeline (admission, duplicates, publish) while every broker is
    /// down for four seconds; the HTTP mapping of its outcomes is covered by the HTTP tests.
    @Test func everyAcknowledgedEventSurvivesAllBrokersGoingDown() async throws {
        let setup = try setUp(brokers: 3, messageTimeoutMs: 30_000)
        let ingestor = setup.ingestor
        let cluster = setup.cluster
        let start = ContinuousClock.now
        let outcomes = try await withThrowingTaskGroup(of: [IngestOutcome].self) { group in
            for worker in 0..<8 {
                group.addTask {
                    var outcomes: [IngestOutcome] = []
                    var n = 0
                    while start.duration(to: .now) < .seconds(8) {
                        n += 1
                        let event = CloudEvent(
                            id: "w\(worker)-\(n)", source: "/test", type: "load.tick", time: Date(),
                            data: Array(#"{"n":\#(n)}"#.utf8))
                        guard case .admitted = ingestor.admit(client: "w\(worker)", events: 1, bytes: 20) else {
                            continue
                        }
                        outcomes += await ingestor.publish([event], bytes: 20, traceparent: nil)
                    }
                    return outcomes
                }
            }
            group.addTask {
                try await Task.sleep(for: .seconds(1))
                for broker in Int32(1)...3 { cluster.setBrokerDown(broker) }
                try await Task.sleep(for: .seconds(4))
                for broker in Int32(1)...3 { cluster.setBrokerUp(broker) }
                return []
            }
            return try await group.reduce(into: [IngestOutcome]()) { $0 += $1 }
        }
        let acknowledged = Set(outcomes.filter { $0.status == .accepted }.compactMap(\.id))
        #expect(acknowledged.count > 10)
        #expect(outcomes.allSatisfy { $0.status == .accepted || $0.status == .failed })
        let stored = Set(
            try await read(setup.log, topic: "events", expecting: acknowledged.count).compactMap { $0.header("ce_id") })
        #expect(acknowledged.subtracting(stored).isEmpty, "every acknowledged event is in the topic")
        await setup.log.close()
    }

    @Test func aRecordTheBrokerRejectsAsTooLargeGoesToTheDeadLetterTopic() async throws {
        let setup = try setUp(brokers: 1, messageTimeoutMs: 10_000)
        try await setup.application.test(.router) { client in
            // Warm up so the producer has its idempotence state before the injected error.
            try await client.execute(
                uri: "/events", method: .post, headers: [.contentType: "application/json"],
                body: ByteBuffer(string: #"{"id":"ok-1","type":"a.b"}"#)
            ) { #expect($0.status == .accepted) }
            setup.cluster.failNextProduceRequests(with: [KafkaMockCluster.messageTooLarge])
            try await client.execute(
                uri: "/events", method: .post,
                headers: [
                    .contentType: "application/json", .traceparent: "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
                ],
                body: ByteBuffer(string: #"{"id":"big-1","type":"a.b","payload":{"blob":"xxxx"}}"#)
            ) { response in
                #expect(response.status == .accepted)
                let body = try JSONSerialization.jsonObject(with: Data(response.body.readableBytesView)) as? [String: Any]
                #expect(body?["status"] as? String == "dead_lettered")
            }
        }
        let dead = try await read(setup.log, topic: "events-dlq", expecting: 1)
        let record = try #require(dead.first { $0.header("ce_id") == "big-1" })
        #expect(record.header("dlq-error-class") == "too-large")
        #expect(record.header("dlq-source-topic") == "events")
        #expect(record.header("dlq-attempts") == "1")
        #expect(record.header("dlq-error")?.isEmpty == false)
        #expect(record.header("traceparent") == "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01")
        #expect(record.key == Array("big-1".utf8))
        #expect(String(decoding: record.value, as: UTF8.self) == #"{"blob":"xxxx"}"#)
        #expect(metric(setup.registry, #"meridian_ingest_events_total{outcome="published"}"#) == 1)
        #expect(metric(setup.registry, #"meridian_ingest_events_total{outcome="dead_lettered"}"#) == 1)
        let events = try await read(setup.log, topic: "events", expecting: 1)
        #expect(events.compactMap { $0.header("ce_id") } == ["ok-1"])
        await setup.log.close()
    }
}
