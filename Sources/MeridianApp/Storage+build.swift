import Logging
import MeridianStorage
import ServiceLifecycle

/// A SQL store together with its lifecycle.
public typealias SQLStoreService = any SQLStore & Service

/// Opens the store the settings name: SQLite (`sqlite:PATH`, the embedded default) or PostgreSQL.
public func buildStore(settings: MeridianSettings, logger: Logger) async throws -> SQLStoreService {
    if settings.storageURL.hasPrefix("sqlite:") {
        return try await SQLiteStore.open(path: String(settings.storageURL.dropFirst("sqlite:".count)), logger: logger)
    }
    return try PostgresStore(url: settings.storageURL, logger: logger)
}

/// The migrations every deployment has, before any service's own: the outbox and the inbox.
public let platformMigrations: [(service: String, migrations: [Migration])] = [
    ("outbox", Outbox.migrations),
    ("inbox", Inbox.migrations),
]

/// Applies every pending migration; returns `service version` lines for what it applied.
public func migrate(_ store: any SQLStore) async throws -> [String] {
    var applied: [String] = []
    for (service, migrations) in platformMigrations {
        for version in try await Migrator.migrate(store, service: service, migrations: migrations) {
            applied.append("\(service) \(version)")
        }
    }
    return applied
}
