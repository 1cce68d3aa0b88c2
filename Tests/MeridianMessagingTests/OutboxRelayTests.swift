import Foundation
import Logging
import MeridianCore
import MeridianEventLog
import MeridianStorage
import MeridianTestSupport
import SQLKit
import Testing

@testable import MeridianMessaging

/// A migrated database and an embedded event log for the relay to publish to.
func outboxSetUp(_ backend: String) async throws -> (TestDatabase, EmbeddedEventLog, String) {
    let database = try await TestDatabase.make(backend)
    try await Migrator.migrate(database.store, service: "outbox", migrations: Outbox.migrations)
    let directory = NSTemporaryDirectory() + "meridian-relay-" + UUID().uuidString
    let log = try await EmbeddedEventLog.openRunning(path: directory + "/log.sqlite")
    return (database, log, directory)
}

@Suite struct OutboxRelayTests {
    @Test(arguments: backends) func theRelayPublishesInOrderAndEmptiesTheOutbox(backend: String) async throws {
        let (database, log, directory) = try await outboxSetUp(backend)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        for batch in 0..<3 {
            try await database.store.withTransaction { db in
                try await Outbox.enqueue(
                    (0..<4).map { n in
                        EventRecord(
                            topic: "orders", key: Array("order-1".utf8), value: Array("\(batch * 4 + n)".utf8),
                            headers: [EventHeader("ce_id", "e\(batch * 4 + n)"), EventHeader(name: "bin", value: [0, 9])])
                    }, service: "orders", in: db)
            }
        }
        #expect(try await database.store.withDatabase { try await Outbox.pendingCount(service: "orders", in: $0) } == 12)
        let relay = OutboxRelay(
            store: database.store, eventLog: log, service: "orders", topics: Topics(),
            configuration: {
                var c = OutboxRelay.Configuration()
                c.batchSize = 5
                return c
            }(), logger: Logger(label: "test"))
        var published = 0
        while published < 12 { published += try await relay.publishOnce() }
        #expect(try await relay.publishOnce() == 0)
        #expect(try await database.store.withDatabase { try await Outbox.pendingCount(service: "orders", in: $0) } == 0)
        let consumer = try await log.makeConsumer(ConsumerOptions(group: nil, topics: ["orders"], fromBeginning: true))
        let records = try await consumer.poll(maxRecords: 100, timeout: .seconds(5))
        #expect(records.map { String(decoding: $0.value, as: UTF8.self) } == (0..<12).map(String.init), "in order")
        #expect(records.first?.headers == [EventHeader("ce_id", "e0"), EventHeader(name: "bin", value: [0, 9])])
        await consumer.close()
        await log.close()
        await database.close()
    }

    @Test(arguments: backends) func recordsStayWhenTheLogCannotTakeThem(backend: String) async throws {
        let (database, log, directory) = try await outboxSetUp(backend)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        await log.close()
        try await database.store.withTransaction { db in
            try await Outbox.enqueue([EventRecord(topic: "orders", key: nil, value: [1])], service: "orders", in: db)
        }
        let relay = OutboxRelay(
            store: database.store, eventLog: log, service: "orders", topics: Topics(), logger: Logger(label: "test"))
        await #expect(throws: EventLogError.self) { try await relay.publishOnce() }
        let attempts = try await database.store.withDatabase { db in
            try await db.raw("SELECT attempts FROM outbox").all().map { try $0.decode(column: "attempts", as: Int.self) }
        }
        #expect(attempts == [1])
        await database.close()
    }
}
