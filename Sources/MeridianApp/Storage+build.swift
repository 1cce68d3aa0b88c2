import Logging
import MeridianCarts
import MeridianNotifications
import MeridianOrders
import MeridianPayments
import MeridianProducts
import MeridianStorage
import MeridianUsers
import ServiceLifecycle

/// A SQL store together with its lifecycle.
public typealias SQLStoreService = any SQLStore & Service

/// Opens the store the settings name: SQLite (`sqlite:PATH`, the embedded default) or PostgreSQL.
public func buildStore(settings: MeridianSettings, logger: Logger) async throws -> SQLStoreService {
    if settings.storageURL.hasPrefix("sqlite:") {
        return try await SQLiteStore.open(
            path: String(settings.storageURL.dropFirst("sqlite:".count)), synchronous: settings.storageSynchronous, logger: logger
        )
    }
    return try PostgresStore(url: settings.storageURL, logger: logger)
}

/// The migrations of the roles given: first the outbox and the inbox every service uses, then each
/// role's own tables.
public func migrations(for roles: [MeridianSettings.Role]) -> [(service: String, migrations: [Migration])] {
    var all: [(service: String, migrations: [Migration])] = [("outbox", Outbox.migrations), ("inbox", Inbox.migrations)]
    if roles.contains(.users) { all.append(("users", UserStore.migrations)) }
    if roles.contains(.products) { all.append(("products", ProductStore.migrations)) }
    if roles.contains(.carts) { all.append(("carts", CartStore.migrations)) }
    if roles.contains(.orders) { all.append(("orders", OrderStore.migrations)) }
    if roles.contains(.payments) { all.append(("payments", PaymentStore.migrations)) }
    if roles.contains(.notifications) { all.append(("notifications", NotificationStore.migrations)) }
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
