import Foundation
import MeridianCore
import MeridianStorage
import MeridianTestSupport
import SQLKit
import Testing

struct Boom: Error {}

/// The storage port on both adapters: migrations, the outbox, the inbox, transactions.
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
}
