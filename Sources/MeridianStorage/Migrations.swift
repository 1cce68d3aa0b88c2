import Foundation
import SQLKit

/// A versioned schema change of one service.
public struct Migration: Sendable {
    public var version: Int
    public var name: String
    /// The statements for each dialect (`sqlite`, `postgresql`); `*` serves both.
    public var statements: [String: [String]]

    public init(version: Int, name: String, statements: [String: [String]]) {
        self.version = version
        self.name = name
        self.statements = statements
    }

    /// A migration whose statements are the same in both dialects.
    public init(version: Int, name: String, _ statements: [String]) {
        self.init(version: version, name: name, statements: ["*": statements])
    }
}

/// Applies each service's migrations once, in version order, each in its own transaction.
public enum Migrator {
    /// Applies the migrations of `service` not applied yet; returns the versions applied now.
    @discardableResult
    public static func migrate(_ store: any SQLStore, service: String, migrations: [Migration]) async throws -> [Int] {
        try await store.withTransaction { database in
            try await database.raw(
                """
                CREATE TABLE IF NOT EXISTS meridian_migrations (
                    service TEXT NOT NULL, version BIGINT NOT NULL, name TEXT NOT NULL, applied_at TEXT NOT NULL,
                    PRIMARY KEY (service, version))
                """
            ).run()
        }
        var applied: [Int] = []
        for migration in migrations.sorted(by: { $0.version < $1.version }) {
            guard let statements = migration.statements[store.dialectName] ?? migration.statements["*"] else {
                throw StoreError("migration \(service) \(migration.version) has no statements for \(store.dialectName)")
            }
            let done = try await store.withTransaction { database -> Bool in
                let rows = try await database.raw(
                    "SELECT version FROM meridian_migrations WHERE service = \(bind: service) AND version = \(bind: migration.version)"
                ).all()
                guard rows.isEmpty else { return false }
                for statement in statements { try await database.raw("\(unsafeRaw: statement)").run() }
                try await database.raw(
                    """
                    INSERT INTO meridian_migrations (service, version, name, applied_at)
                    VALUES (\(bind: service), \(bind: migration.version), \(bind: migration.name), \(bind: Date().ISO8601Format()))
                    """
                ).run()
                return true
            }
            if done { applied.append(migration.version) }
        }
        return applied
    }
}
