import Foundation
import Logging
import MeridianCore
import MeridianEventLog
import MeridianTestSupport
import ServiceLifecycle
import Synchronization
import Testing

@testable import MeridianMessaging

/// The consumer pipeline over the embedded log: commits, no head-of-line blocking, one key in order.
@Suite struct ConsumerServiceTests {
    static let topics = Topics()

    /// An event `id` with key `key` on topic `events`.
    static func record(_ id: String, key: String) -> EventRecord {
        CloudEvent(id: id, source: "/test", type: "thing.happened", time: Date(), data: Array("{}".utf8))
            .record(topic: "events", aggregateID: key)
    }

    /// A log in a fresh directory with topic `events` of `partitions` partitions.
    static func log(partitions: Int32 = 1) async throws -> (EmbeddedEventLog, String) {
        let directory = NSTemporaryDirectory() + "meridian-consumer-\(UUID().uuidString)"
        let log = try await EmbeddedEventLog.openRunning(path: directory + "/log.sqlite")
        try await log.createTopics([TopicSpec(name: "events", partitions: partitions)])
        return (log, directory)
    }

    /// Runs a consumer service of group `g`, then `meanwhile`, until `done()` holds (or 10 s passed), then shuts the
    /// service down gracefully.
    static func consume(
        _ log: EmbeddedEventLog, meanwhile: @escaping @Sendable () async throws -> Void = {},
        until done: @escaping @Sendable () -> Bool, handle: @escaping @Sendable (CloudEvent) async throws -> Void
    ) async throws {
        let service = ConsumerService(
            eventLog: log, options: ConsumerOptions(group: "g", topics: ["events"]),
            handling: EventHandling(eventLog: log, topics: topics, consumer: "g", logger: Logger(label: "test")),
            logger: Logger(label: "test"), handle: handle)
        let group = ServiceGroup(services: [service], logger: Logger(label: "test"))
        try await withThrowingTaskGroup(of: Void.self) { tasks in
            tasks.addTask { try await group.run() }
            try await meanwhile()
            let deadline = ContinuousClock.now.advanced(by: .seconds(10))
            while !done(), ContinuousClock.now < deadline {
                try await Task.sleep(for: .milliseconds(10))
            }
            await group.triggerGracefulShutdown()
            try await tasks.waitForAll()
        }
    }

    /// What a new member of group `g` is given: the records not committed.
    static func uncommitted(_ log: EmbeddedEventLog) async throws -> [Int64] {
        let consumer = try await log.makeConsumer(ConsumerOptions(group: "g", topics: ["events"]))
        let records = try await consumer.poll(maxRecords: 100, timeout: .milliseconds(300))
        await consumer.close()
        return records.map(\.offset)
    }

    @Test func handledRecordsAreCommittedAndNotDeliveredAgain() async throws {
        let (log, directory) = try await Self.log(partitions: 4)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        for number in 0..<20 { _ = try await log.append(Self.record("e\(number)", key: "k\(number)")) }
        let seen = Mutex<Set<String>>([])
        try await Self.consume(
            log, until: { seen.withLock { $0.count } == 20 },
            handle: { event in _ = seen.withLock { $0.insert(event.id) } })
        #expect(seen.withLock { $0 } == Set((0..<20).map { "e\($0)" }))
        #expect(try await Self.uncommitted(log) == [])
        await log.close()
    }

    @Test func aSlowRecordHoldsNeitherOtherKeysNorItsPartitionsOffset() async throws {
        let (log, directory) = try await Self.log()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        // One partition: "slow" at offset 0; five records of other keys come once it is being handled.
        _ = try await log.append(Self.record("slow", key: "a"))
        let slowStarted = Mutex(false)
        let seen = Mutex<[String]>([])
        try await Self.consume(
            log,
            meanwhile: {
                while !slowStarted.withLock({ $0 }) { try await Task.sleep(for: .milliseconds(5)) }
                for number in 1...5 { _ = try await log.append(Self.record("e\(number)", key: "b\(number)")) }
            },
            until: { seen.withLock { $0.count } == 5 },
            handle: { event in
                if event.id == "slow" {
                    slowStarted.withLock { $0 = true }
                    try await Task.sleep(for: .seconds(60))  // until the shutdown cancels it
                }
                seen.withLock { $0.append(event.id) }
            })
        // The five polled after it were handled while it was not...
        #expect(seen.withLock { Set($0) } == ["e1", "e2", "e3", "e4", "e5"])
        // ...but the offset stayed before it: a new member gets it, and (at-least-once) the five after it.
        #expect(try await Self.uncommitted(log) == [0, 1, 2, 3, 4, 5])
        await log.close()
    }

    @Test func recordsOfOneKeyAreHandledOneAtATimeInOrder() async throws {
        let (log, directory) = try await Self.log(partitions: 2)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        for number in 0..<40 {
            _ = try await log.append(Self.record("\(number)", key: number.isMultiple(of: 2) ? "same" : "k\(number)"))
        }
        let order = Mutex<[Int]>([])
        let running = Mutex(0)
        let overlapped = Mutex(false)
        try await Self.consume(
            log, until: { order.withLock { $0.count } == 20 },
            handle: { event in
                let number = Int(event.id)!
                guard number.isMultiple(of: 2) else { return }
                if running.withLock({
                    $0 += 1
                    return $0
                }) > 1 {
                    overlapped.withLock { $0 = true }
                }
                try await Task.sleep(for: .milliseconds(Int.random(in: 0...3)))
                running.withLock { $0 -= 1 }
                order.withLock { $0.append(number) }
            })
        #expect(order.withLock { $0 } == Array(stride(from: 0, to: 40, by: 2)))
        #expect(!overlapped.withLock { $0 })
        await log.close()
    }

    @Test func theBatchesSequenceCommitsABatchOnceTheLoopMovesOn() async throws {
        let (log, directory) = try await Self.log()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        for value in ["a", "b", "c"] { _ = try await log.append(Self.record(value, key: value)) }
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
