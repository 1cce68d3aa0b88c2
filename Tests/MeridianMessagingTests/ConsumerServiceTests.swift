import Foundation
import Logging
import MeridianCore
import MeridianEventLog
import MeridianTestSupport
import ServiceLifecycle
import Synchronization
import Testing

@testable import MeridianMessaging

@Suite struct ConsumerServiceTests {
    func record(_ value: String) -> EventRecord {
        EventRecord(topic: "events", key: nil, value: Array(value.utf8))
    }

    /// Runs a consumer service until it has seen `count` records, then shuts it down gracefully.
    func consume(_ log: EmbeddedEventLog, count: Int) async throws -> [String] {
        let seen = Mutex<[String]>([])
        let service = ConsumerService(
            eventLog: log, options: ConsumerOptions(group: "g", topics: ["events"]), logger: Logger(label: "test")
        ) { records in
            seen.withLock { $0 += records.map { String(decoding: $0.value, as: UTF8.self) } }
        }
        let group = ServiceGroup(services: [service], logger: Logger(label: "test"))
        try await withThrowingTaskGroup(of: Void.self) { tasks in
            tasks.addTask { try await group.run() }
            let deadline = ContinuousClock.now.advanced(by: .seconds(10))
            while seen.withLock({ $0.count }) < count, ContinuousClock.now < deadline {
                try await Task.sleep(for: .milliseconds(10))
            }
            await group.triggerGracefulShutdown()
            try await tasks.waitForAll()
        }
        return seen.withLock { $0 }
    }

    @Test func processedRecordsAreCommittedAndNotDeliveredAgain() async throws {
        let path = NSTemporaryDirectory() + "meridian-consumer-\(UUID().uuidString)/log.sqlite"
        defer { try? FileManager.default.removeItem(atPath: (path as NSString).deletingLastPathComponent) }
        let log = try await EmbeddedEventLog.openRunning(path: path)
        for value in ["a", "b", "c", "d", "e"] { _ = try await log.append(record(value)) }
        #expect(try await consume(log, count: 5).sorted() == ["a", "b", "c", "d", "e"])
        for value in ["f", "g"] { _ = try await log.append(record(value)) }
        #expect(try await consume(log, count: 2).sorted() == ["f", "g"])
        await log.close()
    }

    @Test func theBatchesSequenceCommitsABatchOnceTheLoopMovesOn() async throws {
        let path = NSTemporaryDirectory() + "meridian-batches-\(UUID().uuidString)/log.sqlite"
        defer { try? FileManager.default.removeItem(atPath: (path as NSString).deletingLastPathComponent) }
        let log = try await EmbeddedEventLog.openRunning(path: path)
        for value in ["a", "b", "c"] { _ = try await log.append(record(value)) }
        let consumer = try await log.makeConsumer(ConsumerOptions(group: "s", topics: ["events"]))
        var iterator = consumer.batches(maxRecords: 2).makeAsyncIterator()
        let first = try await iterator.next() ?? []
        #expect(first.count == 2)
        // Not finished with the first batch: nothing is committed, so a new member starts over.
        let again = try await log.makeConsumer(ConsumerOptions(group: "s", topics: ["events"]))
        #expect(try await again.poll(maxRecords: 10, timeout: .seconds(2)).count == 3)
        await again.close()
        let second = try await iterator.next() ?? []
        #expect(second.count == 1)
        // Asking for the second batch committed the first.
        let after = try await log.makeConsumer(ConsumerOptions(group: "s", topics: ["events"]))
        #expect(try await after.poll(maxRecords: 10, timeout: .seconds(2)).map(\.offset) == second.map(\.offset))
        await after.close()
        await consumer.close()
        await log.close()
    }
}
