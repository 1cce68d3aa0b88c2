import Foundation
import Logging
import MeridianCore
import Testing

@testable import MeridianEventLog

/// A fresh data directory per test, removed afterwards.
struct TemporaryDirectory: ~Copyable {
    let path: String

    init() throws {
        path = NSTemporaryDirectory() + "meridian-test-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    }

    deinit { try? FileManager.default.removeItem(atPath: path) }

    var database: String { path + "/eventlog.sqlite" }
}

func openLog(_ path: String, partitions: Int32 = 4) async throws -> EmbeddedEventLog {
    var configuration = EmbeddedEventLog.Configuration(path: path)
    configuration.defaultPartitions = partitions
    let log = try await EmbeddedEventLog.open(configuration: configuration, logger: Logger(label: "test"))
    Task { try await log.run() }  // the writer starts in run(), as in a service group
    return log
}

func record(_ topic: String, key: String?, value: String, headers: [EventHeader] = []) -> EventRecord {
    EventRecord(topic: topic, key: key.map { Array($0.utf8) }, value: Array(value.utf8), headers: headers)
}

/// Reads until `count` records arrived or `timeout` passed.
func readAll(_ consumer: any EventLogConsumer, count: Int, timeout: Duration = .seconds(10)) async throws -> [ConsumedRecord] {
    var records: [ConsumedRecord] = []
    let deadline = ContinuousClock.now.advanced(by: timeout)
    while records.count < count, ContinuousClock.now < deadline {
        records += try await consumer.poll(maxRecords: count - records.count, timeout: .milliseconds(200))
    }
    return records
}

@Suite struct EmbeddedEventLogTests {
    @Test func appendedRecordsReadBackWithKeysAndHeaders() async throws {
        let directory = try TemporaryDirectory()
        let log = try await openLog(directory.database)
        let headers = [EventHeader("ce_id", "1"), EventHeader(name: "bin", value: [0, 255, 7])]
        let written = await log.append([
            record("events", key: "k1", value: "a", headers: headers), record("events", key: nil, value: "b"),
        ])
        #expect(written.allSatisfy { (try? $0.get()) != nil })
        let consumer = try await log.makeConsumer(ConsumerOptions(group: nil, topics: ["events"], fromBeginning: true))
        let records = try await readAll(consumer, count: 2)
        #expect(Set(records.map { String(decoding: $0.value, as: UTF8.self) }) == ["a", "b"])
        let first = try #require(records.first { $0.value == Array("a".utf8) })
        #expect(first.key == Array("k1".utf8))
        #expect(first.headers == headers)
        #expect(records.first { $0.value == Array("b".utf8) }?.key == nil)
        await consumer.close()
        await log.close()
    }

    /// What `meridian_eventlog_consumer_lag` reports for the embedded log: per group and topic, the records not yet
    /// committed, every partition counted.
    @Test func consumerLagIsWhatAGroupHasYetToCommit() async throws {
        let directory = try TemporaryDirectory()
        let log = try await openLog(directory.database, partitions: 2)
        _ = await log.append((0..<6).map { record("orders", key: "k\($0)", value: "\($0)") })
        #expect(try await log.consumerLag().isEmpty, "no group committed yet")
        let consumer = try await log.makeConsumer(ConsumerOptions(group: "g", topics: ["orders"], fromBeginning: false))
        let records = try await readAll(consumer, count: 6)
        #expect(records.count == 6)
        try await consumer.commit(Array(records.prefix(2)))
        // The commit of two records leaves four, whichever partitions they were on.
        var lag = try await log.consumerLag()
        let deadline = ContinuousClock.now.advanced(by: .seconds(5))
        while lag.first?.records != 4, ContinuousClock.now < deadline {
            try await Task.sleep(for: .milliseconds(20))
            lag = try await log.consumerLag()
        }
        #expect(lag == [.init(group: "g", topic: "orders", records: 4)])
        try await consumer.commit(records)
        _ = await log.append([record("orders", key: nil, value: "late")])
        #expect(try await log.consumerLag() == [.init(group: "g", topic: "orders", records: 1)])
        await consumer.close()
        await log.close()
    }

    @Test func aKeyAlwaysLandsInTheSamePartition() async throws {
        let directory = try TemporaryDirectory()
        let log = try await openLog(directory.database, partitions: 8)
        var partitions: Set<Int32> = []
        for index in 0..<20 {
            let position = try await log.append(record("orders", key: "order-42", value: "\(index)"))
            partitions.insert(position.partition)
        }
        #expect(partitions.count == 1)
        let other = try await log.append(record("orders", key: "order-43", value: "x"))
        #expect(other.partition == KeyPartitioner.partition(for: Array("order-43".utf8), partitions: 8))
        await log.close()
    }

    @Test func concurrentAppendsShareCommitsAndGetDistinctOffsets() async throws {
        let directory = try TemporaryDirectory()
        let log = try await openLog(directory.database, partitions: 2)
        let positions = await withTaskGroup(of: RecordPosition?.self) { group in
            for index in 0..<500 {
                group.addTask { try? await log.append(record("events", key: "k\(index)", value: "\(index)")) }
            }
            return await group.reduce(into: [RecordPosition]()) { if let position = $1 { $0.append(position) } }
        }
        #expect(positions.count == 500)
        for partition in Int32(0)..<2 {
            let offsets = positions.filter { $0.partition == partition }.map(\.offset).sorted()
            #expect(offsets == Array(0..<Int64(offsets.count)))
        }
        let described = try await log.describeTopics().first { $0.name == "events" }
        #expect(described?.recordCount == 500)
        await log.close()
    }

    @Test func aGroupResumesFromItsCommittedOffsetsAfterARestart() async throws {
        let directory = try TemporaryDirectory()
        var log = try await openLog(directory.database, partitions: 1)
        for index in 0..<10 { _ = try await log.append(record("events", key: nil, value: "\(index)")) }
        var consumer = try await log.makeConsumer(ConsumerOptions(group: "g", topics: ["events"]))
        let firstFour = try await consumer.poll(maxRecords: 4, timeout: .seconds(5))
        #expect(firstFour.map(\.offset) == [0, 1, 2, 3])
        try await consumer.commit(firstFour)
        await consumer.close()
        await log.close()

        log = try await openLog(directory.database, partitions: 1)
        consumer = try await log.makeConsumer(ConsumerOptions(group: "g", topics: ["events"]))
        let rest = try await readAll(consumer, count: 6)
        #expect(rest.map(\.offset) == Array(4..<10))
        #expect(rest.map { String(decoding: $0.value, as: UTF8.self) } == (4..<10).map(String.init))
        await consumer.close()

        let fresh = try await log.makeConsumer(ConsumerOptions(group: "other", topics: ["events"]))
        #expect(try await readAll(fresh, count: 10).count == 10)
        await fresh.close()
        // Appends continue after the last offset that survived the restart.
        #expect(try await log.append(record("events", key: nil, value: "x")).offset == 10)
        await log.close()
    }

    @Test func aWaitingConsumerIsWokenByAnAppend() async throws {
        let directory = try TemporaryDirectory()
        let log = try await openLog(directory.database)
        let consumer = try await log.makeConsumer(ConsumerOptions(group: "g", topics: ["events"]))
        _ = try await consumer.poll(maxRecords: 10, timeout: .milliseconds(50))
        async let received = consumer.poll(maxRecords: 10, timeout: .seconds(30))
        try await Task.sleep(for: .milliseconds(100))
        let started = ContinuousClock.now
        _ = try await log.append(record("events", key: nil, value: "wake"))
        let records = try await received
        #expect(records.map(\.value) == [Array("wake".utf8)])
        #expect(started.duration(to: .now) < .seconds(20), "woken by the append, not by the poll timeout")
        await consumer.close()
        await log.close()
    }

    @Test func createdTopicsHaveTheirPartitionCount() async throws {
        let directory = try TemporaryDirectory()
        let log = try await openLog(directory.database)
        try await log.createTopics([TopicSpec(name: "a", partitions: 3), TopicSpec(name: "b", partitions: 1)])
        try await log.createTopics([TopicSpec(name: "a", partitions: 9)])
        let topics = try await log.describeTopics()
        #expect(topics.map(\.name) == ["a", "b"])
        #expect(topics.map(\.partitions.count) == [3, 1])
        await log.close()
    }

    @Test func appendsAfterCloseFail() async throws {
        let directory = try TemporaryDirectory()
        let log = try await openLog(directory.database)
        await log.close()
        let results = await log.append([record("events", key: nil, value: "late")])
        #expect(throws: EventLogError.self) { try results[0].get() }
        #expect(await log.isReachable() == false)
    }

    @Test func headerCodingRoundTrips() {
        let headers = [EventHeader("a", ""), EventHeader(name: "", value: [1, 2, 3]), EventHeader("ünïcode", "✓")]
        #expect(HeaderCoding.decode(HeaderCoding.encode(headers)) == headers)
        #expect(HeaderCoding.decode([0, 0, 0, 9, 1]) == [])
        // A corrupt count of about 4 billion headers reserves nothing huge.
        #expect(HeaderCoding.decode([0xFF, 0xFF, 0xFF, 0xFF, 0, 0, 0, 1, 0x61]) == [])
    }
}
