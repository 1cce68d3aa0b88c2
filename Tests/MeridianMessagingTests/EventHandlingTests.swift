import Foundation
import Logging
import MeridianCore
import MeridianEventLog
import MeridianMessaging
import MeridianTestSupport
import Synchronization
import Testing

struct Thing: Decodable {
    var n: Int
}

extension CloudEvent {
    /// The event as a record a consumer got.
    func consumed(topic: String, key: String) -> ConsumedRecord {
        let record = self.record(topic: topic, aggregateID: key)
        return ConsumedRecord(
            topic: record.topic, partition: 0, offset: 0, key: record.key, value: record.value, headers: record.headers,
            timestamp: Date())
    }
}

/// How every consumer treats records: retries, dead letters, one key in order.
@Suite struct EventHandlingTests {
    static let topics = Topics()

    @Test func unreadableAndFailingRecordsGoToTheDeadLetterTopic() async throws {
        let directory = NSTemporaryDirectory() + "meridian-dlq-" + UUID().uuidString
        let log = try await EmbeddedEventLog.openRunning(path: directory + "/log.sqlite")
        var configuration = EventHandling.Configuration()
        configuration.firstBackoff = .milliseconds(1)
        configuration.attempts = 3
        let handling = EventHandling(
            eventLog: log, topics: Self.topics, consumer: "test", configuration: configuration, logger: Logger(label: "test"))
        let attempts = Mutex(0)
        let event = CloudEvent(
            id: "e1", source: "/test", type: "thing.happened", time: Date(), data: Array(#"{"n":1}"#.utf8))
        let good = event.consumed(topic: Self.topics.paymentRequested, key: "o1")
        var broken = good
        broken.value = Array("not json".utf8)
        let noEnvelope = ConsumedRecord(
            topic: "orders", partition: 0, offset: 9, key: nil, value: [1], headers: [], timestamp: Date())
        try await handling.dispatch([noEnvelope, broken, good]) { event in
            _ = try event.decodeData(Thing.self)
            attempts.withLock { $0 += 1 }
            throw HandlerRefused()
        }
        #expect(attempts.withLock { $0 } == 3)
        let consumer = try await log.makeConsumer(
            ConsumerOptions(group: nil, topics: [Self.topics.deadLetter], fromBeginning: true))
        var dead: [ConsumedRecord] = []
        while dead.count < 3 {
            let batch = try await consumer.poll(maxRecords: 10, timeout: .seconds(5))
            if batch.isEmpty { break }
            dead += batch
        }
        // Records of different keys are handled side by side: compare without order.
        #expect(dead.compactMap { $0.header("dlq-error-class") }.sorted() == ["processing", "validation", "validation"])
        let failed = dead.first { $0.header("dlq-error-class") == "processing" }
        #expect(failed?.header("dlq-attempts") == "3")
        #expect(failed?.header("dlq-source-topic") == Self.topics.paymentRequested)
        await consumer.close()
        await log.close()
        try? FileManager.default.removeItem(atPath: directory)
    }

    struct HandlerRefused: Error {}
}
