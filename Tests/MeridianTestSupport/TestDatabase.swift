import Foundation
import Logging
import MeridianStorage
import SQLKit

/// The backends every storage test runs on: SQLite always, PostgreSQL when the test script started one
/// (`scripts/with-postgres.sh`, which `make test` uses).
public let backends: [String] =
    ["sqlite"] + (ProcessInfo.processInfo.environment["MERIDIAN_TEST_POSTGRES_URL"] != nil ? ["postgresql"] : [])

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

    public func close() async { await cleanup() }
}

/// PostgreSQL was asked for, but `MERIDIAN_TEST_POSTGRES_URL` is not set.
public struct TestDatabaseUnavailable: Error {}
