import Foundation
import HTTPTypes
import HummingbirdTesting
import Logging
import MeridianApp
import MeridianAuth
import MeridianEventLog
import MeridianStorage
import NIOCore

/// A fresh SQLite store (migrated for `roles`), embedded event log and token service in a temporary
/// directory: what the commerce roles' tests assemble their routers from.
public final class CommerceHarness: Sendable {
    public let directory = NSTemporaryDirectory() + "meridian-test-" + UUID().uuidString
    public let store: SQLiteStore
    public let log: EmbeddedEventLog
    public let tokens: TokenService

    public init(roles: [MeridianSettings.Role]) async throws {
        store = try await SQLiteStore.open(path: directory + "/store.sqlite", logger: Logger(label: "test"))
        _ = try await migrate(store, roles: roles)
        log = try await EmbeddedEventLog.open(
            configuration: .init(path: directory + "/log.sqlite"), logger: Logger(label: "test"))
        tokens = try await TokenService(secret: String(repeating: "t", count: 32))
    }

    /// JSON headers with a bearer token for `user` in `role`.
    public func headers(_ user: String, _ role: Principal.Role = .customer) async throws -> HTTPFields {
        let token = try await tokens.issue(for: Principal(userID: user, role: role))
        return [.contentType: "application/json", .authorization: "Bearer \(token)"]
    }

    public func close() async {
        try? await store.close()
        await log.close()
        try? FileManager.default.removeItem(atPath: directory)
    }
}

extension TestResponse {
    /// The body as a JSON object (empty when it is not one).
    public var object: [String: Any] {
        (try? JSONSerialization.jsonObject(with: Data(body.readableBytesView)) as? [String: Any]) ?? [:]
    }
}
