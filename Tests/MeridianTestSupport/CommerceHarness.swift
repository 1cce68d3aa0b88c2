import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Logging
import MeridianAuth
import MeridianContracts
import MeridianCore
import MeridianEventLog
import MeridianHTTP
import MeridianSQLite
import MeridianStorage
import NIOCore

/// A fresh SQLite store (with the outbox, the inbox and the given service migrations), an embedded event log
/// and a token service in a temporary directory: what a role's tests assemble it from.
public final class CommerceHarness: Sendable {
    public let directory = NSTemporaryDirectory() + "meridian-test-" + UUID().uuidString
    public let store: SQLiteStore
    public let log: EmbeddedEventLog
    public let tokens: TokenService

    public init(migrations: [(service: String, migrations: [Migration])]) async throws {
        store = try await SQLiteStore.open(path: directory + "/store.sqlite", logger: Logger(label: "test"))
        for (service, list) in [("outbox", Outbox.migrations), ("inbox", Inbox.migrations)] + migrations {
            try await Migrator.migrate(store, service: service, migrations: list)
        }
        log = try await EmbeddedEventLog.openRunning(path: directory + "/log.sqlite")
        tokens = try await TokenService(secret: String(repeating: "t", count: 32))
    }

    /// JSON headers with a bearer token for `user` in `role`.
    public func headers(_ user: String, _ role: Principal.Role = .customer) async throws -> HTTPFields {
        let token = try await tokens.issue(for: Principal(userID: user, role: role))
        return [.contentType: "application/json", .authorization: "Bearer \(token)"]
    }

    /// A router with the middleware every role's API sits behind (request ids, problems, limits,
    /// authentication) and `routes`.
    public func router(_ routes: [any APIRoutes], accounts: (any AccountStatus)? = nil) -> Router<MeridianRequestContext> {
        serviceRouter(routes, tokens: tokens, accounts: accounts)
    }

    public func close() async {
        try? await store.close()
        await log.close()
        try? FileManager.default.removeItem(atPath: directory)
    }
}

/// The middleware every role's API sits behind, as `buildRouter` adds it, around `routes`.
public func serviceRouter(_ routes: [any APIRoutes], tokens: TokenService?, accounts: (any AccountStatus)? = nil)
    -> Router<MeridianRequestContext>
{
    let router = Router(context: MeridianRequestContext.self)
    router.add(middleware: RequestIDMiddleware())
    router.add(middleware: SecurityHeadersMiddleware())
    router.add(middleware: ProblemMiddleware())
    router.add(middleware: RequestLimitsMiddleware(limits: RequestLimits()))
    if let tokens { router.add(middleware: AuthenticationMiddleware(tokens: tokens, accounts: accounts)) }
    for api in routes { api.addRoutes(to: router) }
    return router
}

/// An event log for roles that need none: reachable, empty, refusing appends.
public struct NeverEventLog: EventLog {
    public init() {}
    public func append(_ records: [EventRecord]) async -> [Result<RecordPosition, EventLogError>] {
        records.map { _ in .failure(EventLogError(.closed, "no event log in this test")) }
    }
    public func createTopics(_ topics: [TopicSpec]) async throws {}
    public func describeTopics() async throws -> [TopicDescription] { [] }
    public func makeConsumer(_ options: ConsumerOptions) async throws -> any EventLogConsumer {
        throw EventLogError(.closed, "no event log in this test")
    }
    public func isReachable() async -> Bool { true }
}

extension TestResponse {
    /// The body as a JSON object (empty when it is not one).
    public var object: [String: Any] {
        (try? JSONSerialization.jsonObject(with: Data(body.readableBytesView)) as? [String: Any]) ?? [:]
    }
}

/// JSON request headers.
public let jsonHeaders: HTTPFields = [.contentType: "application/json"]

extension EmbeddedEventLog {
    /// Opens the log and starts it (its writer runs until ``close()``), as a service group would.
    public static func openRunning(path: String) async throws -> EmbeddedEventLog {
        let log = try await EmbeddedEventLog.open(configuration: .init(path: path), logger: Logger(label: "test"))
        Task { try await log.run() }
        return log
    }
}
