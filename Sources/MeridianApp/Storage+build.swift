import Logging
import MeridianAnalytics
import MeridianCarts
import MeridianIngestJobs
import MeridianMessaging
import MeridianNotifications
import MeridianOrders
import MeridianPayments
import MeridianPostgres
import MeridianProducts
import MeridianSQLite
import MeridianStorage
import MeridianUsers
import ServiceLifecycle

/// A SQL store together with its lifecycle.
public typealias SQLStoreService = any SQLStoreAdapter

/// Opens the store the settings name, runs `body` with it, and closes it, whatever `body` did: what the
/// commands that are not `serve` use (`migrate`, `users create-admin`).
public func withStore<Result: Sendable>(
    settings: MeridianSettings, logger: Logger, _ body: @Sendable (any SQLStore) async throws -> Result
) async throws -> Result {
    try await withStore(
        url: settings.storageURL, synchronous: settings.storageSynchronous, maxConnections: settings.storageMaxConnections,
        logger: logger, body)
}

/// Opens the store at `url` (`sqlite:PATH` or `postgres://...`), runs `body` with it, and closes it.
public func withStore<Result: Sendable>(
    url: String, synchronous: String = "FULL", maxConnections: Int = 20, logger: Logger,
    _ body: @Sendable (any SQLStore) async throws -> Result
) async throws -> Result {
    let store = try await buildStore(url: url, synchronous: synchronous, maxConnections: maxConnections, logger: logger)
    let running = Task { try await store.run() }
    let result: Swift.Result<Result, any Error>
    do {
        result = .success(try await body(store))
    } catch {
        result = .failure(error)
    }
    running.cancel()
    _ = try? await running.value
    try? await store.close()
    return try result.get()
}

/// Opens the store the settings name: SQLite (`sqlite:PATH`, the embedded default) or PostgreSQL.
public func buildStore(settings: MeridianSettings, logger: Logger) async throws -> SQLStoreService {
    try await buildStore(
        url: settings.storageURL, synchronous: settings.storageSynchronous, maxConnections: settings.storageMaxConnections,
        logger: logger)
}

/// Opens the store at `url`: `sqlite:PATH` with SQLite's `synchronous` pragma, or a `postgres://` URL with a pool
/// of at most `maxConnections`.
public func buildStore(url: String, synchronous: String, maxConnections: Int = 20, logger: Logger) async throws
    -> SQLStoreService
{
    if url.hasPrefix("sqlite:") {
        return try await SQLiteStore.open(path: String(url.dropFirst("sqlite:".count)), synchronous: synchronous, logger: logger)
    }
    return try PostgresStore(url: url, maxConnections: maxConnections, logger: logger)
}

/// The migrations of the roles given: first the outbox and the inbox every service uses, then each
/// role's own tables.
public func migrations(for roles: [MeridianSettings.Role]) -> [(service: String, migrations: [Migration])] {
    var all: [(service: String, migrations: [Migration])] = [("outbox", Outbox.migrations), ("inbox", Inbox.migrations)]
    if roles.contains(.users) { all.append(("users", SQLUserStore.migrations)) }
    if roles.contains(.products) { all.append(("products", SQLProductStore.migrations)) }
    if roles.contains(.carts) { all.append(("carts", SQLCartStore.migrations)) }
    if roles.contains(.orders) { all.append(("orders", SQLOrderStore.migrations)) }
    if roles.contains(.payments) { all.append(("payments", SQLPaymentStore.migrations)) }
    if roles.contains(.notifications) { all.append(("notifications", SQLNotificationStore.migrations)) }
    if roles.contains(.ingestJobs) { all.append((SQLIngestJobStore.service, SQLIngestJobStore.migrations)) }
    if roles.contains(.analytics) { all.append((SQLAnalyticsStore.service, SQLAnalyticsStore.migrations)) }
    return all
}

/// Applies every pending migration of `roles`; returns `service version` lines for what it applied.
public func migrate(_ store: any SQLStore, roles: [MeridianSettings.Role] = MeridianSettings.Role.allCases) async throws
    -> [String]
{
    var applied: [String] = []
    for (service, migrations) in migrations(for: roles) {
        for version in try await Migrator.migrate(store, service: service, migrations: migrations) {
            applied.append("\(service) \(version)")
        }
    }
    return applied
}
