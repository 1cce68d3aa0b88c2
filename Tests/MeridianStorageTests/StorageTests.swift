import Foundation
import Logging
import MeridianCore
import MeridianEventLog
import MeridianTestSupport
import SQLKit
import Testing

@testable import MeridianStorage

struct Boom: Error {}

/// A migrated database and an embedded event log for the relay to publish to.
func outboxSetUp(_ backend: String) async throws -> (TestDatabase, EmbeddedEventLog, String) {
    let database = try await TestDatabase.make(backend)
    try await Migrator.migrate(database.store, service: "outbox", migrations: Outbox.migrations)
    let directory = NSTemporaryDirectory() + "meridian-relay-" + UUID().uuidString
    let log = try await EmbeddedEventLog.open(
        configuration: .init(path: directory + "/log.sqlite"), logger: Logger(label: "test"))
    return (database, log, directory)
}

@Suite struct StorageTests {
    @Test(arguments: backends) func migrationsApplyOnceInOrder(backend: String) async throws {
        let database = try await TestDatabase.make(backend)
        let migrations = [
            Migration(version: 2, name: "add note", ["ALTER TABLE things ADD COLUMN note TEXT"]),
            Migration(version: 1, name: "things", ["CREATE TABLE things (id TEXT PRIMARY KEY, count BIGINT NOT NULL)"]),
        ]
        #expect(try await Migrator.migrate(database.store, service: "svc", migrations: migrations) == [1, 2])
        #expect(try await Migrator.migrate(database.store, service: "svc", migrations: migrations) == [])
        try await database.store.withTransaction { db in
            try await db.raw("INSERT INTO things (id, count, note) VALUES ('a', 1, 'n')").run()
        }
        let broken = [Migration(version: 3, name: "broken", ["CREATE TABLE things (id TEXT)"])]
        await #expect(throws: (any Error).self) { try await Migrator.migrate(database.store, service: "svc", migrations: broken) }
        let versions = try await database.store.withDatabase { db in
            try await db.raw("SELECT version FROM meridian_migrations WHERE service = 'svc' ORDER BY version").all()
                .map { try $0.decode(column: "version", as: Int.self) }
        }
        #expect(versions == [1, 2], "a failed migration is not recorded")
        await database.close()
    }

    @Test(arguments: backends) func aRolledBackTransactionLeavesNoOutboxRecord(backend: String) async throws {
        let database = try await TestDatabase.make(backend)
        try await Migrator.migrate(database.store, service: "outbox", migrations: Outbox.migrations)
        await #expect(throws: Boom.self) {
            try await database.store.withTransaction { db in
                try await Outbox.enqueue([EventRecord(topic: "orders", key: nil, value: [1])], service: "orders", in: db)
                throw Boom()
            }
        }
        #expect(try await database.store.withDatabase { try await Outbox.pendingCount(service: "orders", in: $0) } == 0)
        await database.close()
    }

    @Test(arguments: backends) func concurrentTransactionsCommitOrRollBackEachOnItsOwn(backend: String) async throws {
        // On SQLite concurrent transactions share one commit (group commit): one that throws must still
        // leave no trace, and the others must all be there.
        let database = try await TestDatabase.make(backend)
        try await database.store.withTransaction { db in
            try await db.raw("CREATE TABLE items (id INTEGER PRIMARY KEY, note TEXT NOT NULL)").run()
        }
        let outcomes = await withTaskGroup(of: (Int, Bool).self) { group in
            for id in 0..<60 {
                group.addTask {
                    do {
                        try await database.store.withTransaction { db in
                            try await db.raw("INSERT INTO items (id, note) VALUES (\(bind: id), 'first')").run()
                            try await db.raw("UPDATE items SET note = 'second' WHERE id = \(bind: id)").run()
                            if id % 5 == 0 { throw Boom() }
                        }
                        return (id, true)
                    } catch {
                        return (id, false)
                    }
                }
            }
            return await group.reduce(into: [Int: Bool]()) { $0[$1.0] = $1.1 }
        }
        #expect(outcomes.filter(\.value).count == 48)
        let stored = try await database.store.withDatabase { db in
            try await db.raw("SELECT id, note FROM items ORDER BY id").all().map {
                (try $0.decode(column: "id", as: Int.self), try $0.decode(column: "note", as: String.self))
            }
        }
        #expect(stored.map(\.0) == (0..<60).filter { $0 % 5 != 0 })
        #expect(stored.allSatisfy { $0.1 == "second" })
        await database.close()
    }

    @Test(arguments: backends) func groupCommitSurvivesFailingAndCancelledTransactions(backend: String) async throws {
        // Many transactions at once on one store: some succeed, some throw, some break a constraint, some are
        // cancelled mid-way (as a consumer's sibling tasks are when one of them fails). Each one's rows are
        // there exactly when it reported success, and no failure of one ever fails another.
        let database = try await TestDatabase.make(backend)
        try await database.store.withTransaction { db in
            try await db.raw("CREATE TABLE stress (id BIGINT PRIMARY KEY, note TEXT NOT NULL)").run()
            try await db.raw("INSERT INTO stress (id, note) VALUES (-1, 'taken')").run()
        }
        enum Kind: Int, CaseIterable { case succeeds, throwsAfterWriting, breaksAConstraint, isCancelled }
        for round in 0..<4 {
            var tasks: [(id: Int, kind: Kind, task: Task<Bool, any Error>)] = []
            for n in 0..<150 {
                let id = round * 1000 + n
                let kind = Kind(rawValue: n % Kind.allCases.count)!
                let store = database.store
                let task = Task {
                    try await store.withTransaction { db in
                        try await db.raw("INSERT INTO stress (id, note) VALUES (\(bind: id), 'one')").run()
                        if kind == .isCancelled { try await Task.sleep(for: .microseconds(Int.random(in: 0...400))) }
                        try await db.raw("INSERT INTO stress (id, note) VALUES (\(bind: id + 500), 'two')").run()
                        switch kind {
                        case .throwsAfterWriting: throw Boom()
                        case .breaksAConstraint: try await db.raw("INSERT INTO stress (id, note) VALUES (-1, 'again')").run()
                        case .succeeds, .isCancelled: break
                        }
                        return true
                    }
                }
                tasks.append((id, kind, task))
            }
            for entry in tasks where entry.kind == .isCancelled { entry.task.cancel() }
            var reported: [Int: Bool] = [:]
            for entry in tasks {
                do {
                    reported[entry.id] = try await entry.task.value
                } catch is Boom {
                    reported[entry.id] = false
                } catch is CancellationError {
                    reported[entry.id] = false
                } catch {
                    // A constraint error is this transaction's own failure; anything else hit a bystander.
                    #expect(entry.kind == .breaksAConstraint, "transaction \(entry.id) (\(entry.kind)) failed: \(error)")
                    reported[entry.id] = false
                }
                if entry.kind == .succeeds { #expect(reported[entry.id] == true, "transaction \(entry.id) must succeed") }
            }
            let stored = try await database.store.withDatabase { db in
                try await db.raw("SELECT id FROM stress WHERE id >= \(bind: round * 1000) AND id < \(bind: round * 1000 + 1000)")
                    .all().map { try $0.decode(column: "id", as: Int.self) }
            }
            let expected = reported.filter(\.value).keys.flatMap { [$0, $0 + 500] }
            #expect(Set(stored) == Set(expected), "round \(round): rows exactly of the transactions that reported success")
        }
        // The store still works afterwards.
        try await database.store.withTransaction { db in
            try await db.raw("INSERT INTO stress (id, note) VALUES (999999, 'after')").run()
        }
        await database.close()
    }

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

    @Test(arguments: backends) func theInboxAppliesAnEventOnce(backend: String) async throws {
        let database = try await TestDatabase.make(backend)
        try await Migrator.migrate(database.store, service: "inbox", migrations: Inbox.migrations)
        #expect(try await database.store.withTransaction { try await Inbox.claim("e1", consumer: "orders", in: $0) })
        #expect(try await database.store.withTransaction { try await Inbox.claim("e1", consumer: "orders", in: $0) } == false)
        #expect(try await database.store.withTransaction { try await Inbox.claim("e1", consumer: "payments", in: $0) })
        await #expect(throws: Boom.self) {
            try await database.store.withTransaction { db in
                _ = try await Inbox.claim("e2", consumer: "orders", in: db)
                throw Boom()
            }
        }
        #expect(
            try await database.store.withTransaction { try await Inbox.claim("e2", consumer: "orders", in: $0) },
            "rolled back, so not applied")
        await database.close()
    }

    @Test func postgresURLs() {
        #expect(PostgresStore.configuration(from: "postgres://u:p@db.example:6543/shop") != nil)
        #expect(PostgresStore.configuration(from: "postgresql://u@127.0.0.1/shop?sslmode=require") != nil)
        #expect(PostgresStore.configuration(from: "mysql://u@h/d") == nil)
        #expect(PostgresStore.configuration(from: "postgres:///nohost") == nil)
    }
}
