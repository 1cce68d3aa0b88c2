import Foundation
import Logging
import MeridianPostgres
import MeridianSQLite
import MeridianStorage
import SQLKit

/// The backends every storage test runs on: SQLite always, PostgreSQL when the test script started one
/// (`scripts/with-postgres.sh`, which `make test` uses and which fails when PostgreSQL cannot start). A plain
/// `swift test` without it says loudly, once, that the PostgreSQL cases are skipped.
public let backends: [String] = {
    if ProcessInfo.processInfo.environment["MERIDIAN_TEST_POSTGRES_URL"] != nil { return ["sqlite", "postgresql"] }
    FileHandle.standardError.write(
        Data(
            """

            ⚠️  SKIPPED: every PostgreSQL case of the storage tests. MERIDIAN_TEST_POSTGRES_URL is not set; \
            run `make test` (or scripts/with-postgres.sh swift test) to include them.


            """.utf8))
    return ["sqlite"]
}()

/// A fresh database per test: a new SQLite file, or a new PostgreSQL database on the test server.
public final class TestDatabase: Sendable {
    public let store: any SQLStore
    private let cleanup: @Sendable () async -> Void

    private init(store: any SQLStore, cleanup: @escaping @Sendable () async -> Void) {
        self.store = store
        self.cleanup = cleanup
    }

    public static func make(_ backend: String) async throws -> TestDatabase {
        let logger = Logger(label: "test")
        if backend == "sqlite" {
            let directory = NSTemporaryDirectory() + "meridian-store-" + UUID().uuidString
            let store = try await SQLiteStore.open(path: directory + "/store.sqlite", logger: logger)
            return TestDatabase(store: store) {
                try? await store.close()
                try? FileManager.default.removeItem(atPath: directory)
            }
        }
        guard let url = ProcessInfo.processInfo.environment["MERIDIAN_TEST_POSTGRES_URL"] else {
            throw TestDatabaseUnavailable()
        }
        let admin = try PostgresStore(url: url, logger: logger)
        let adminRun = Task { try await admin.run() }
        let name = "test_" + UUID().uuidString.replacingOccurrences(of: "-", with: "").lowercased()
        try await admin.withDatabase { try await $0.raw("CREATE DATABASE \(unsafeRaw: name)").run() }
        let base = url.components(separatedBy: "/").dropLast().joined(separator: "/")
        let store = try PostgresStore(url: base + "/" + name, logger: logger)
        let run = Task { try await store.run() }
        return TestDatabase(store: store) {
            run.cancel()
            _ = try? await run.value
            try? await admin.withDatabase { try await $0.raw("DROP DATABASE IF EXISTS \(unsafeRaw: name)").run() }
            adminRun.cancel()
            _ = try? await adminRun.value
        }
    }

    /// A fresh database with the outbox, the inbox and `migrations` applied.
    public static func make(_ backend: String, migrations: [(service: String, migrations: [Migration])]) async throws
        -> TestDatabase
    {
        let database = try await make(backend)
        for (service, list) in [("outbox", Outbox.migrations), ("inbox", Inbox.migrations)] + migrations {
            try await Migrator.migrate(database.store, service: service, migrations: list)
        }
        return database
    }

    public func close() async { await cleanup() }

    /// Fresh, empty PostgreSQL databases on the test server, for processes the test starts: their URLs, and
    /// what drops them. Nil when no test server runs (`make test` starts one).
    public static func postgresDatabases(_ count: Int) async throws -> (urls: [String], drop: @Sendable () async -> Void)? {
        guard let url = ProcessInfo.processInfo.environment["MERIDIAN_TEST_POSTGRES_URL"] else { return nil }
        let admin = try PostgresStore(url: url, logger: Logger(label: "test"))
        let adminRun = Task { try await admin.run() }
        let names = (0..<count).map { _ in "proc_" + UUID().uuidString.replacingOccurrences(of: "-", with: "").lowercased() }
        for name in names {
            try await admin.withDatabase { try await $0.raw("CREATE DATABASE \(unsafeRaw: name)").run() }
        }
        let base = url.components(separatedBy: "/").dropLast().joined(separator: "/")
        return (
            names.map { base + "/" + $0 },
            {
                for name in names {
                    try? await admin.withDatabase {
                        try await $0.raw("DROP DATABASE IF EXISTS \(unsafeRaw: name) WITH (FORCE)").run()
                    }
                }
                adminRun.cancel()
                _ = try? await adminRun.value
            }
        )
    }
}

/// PostgreSQL was asked for, but `MERIDIAN_TEST_POSTGRES_URL` is not set.
public struct TestDatabaseUnavailable: Error {}
