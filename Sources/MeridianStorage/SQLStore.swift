import Foundation
import MeridianCore
import SQLKit
import ServiceLifecycle

/// The SQL storage port: transactions over SQLKit, on SQLite (embedded) or PostgreSQL.
///
/// Services write their state and their outbox records in one ``withTransaction(_:)``; a line of
/// service code never needs to know which database is underneath (the dialect differences live in the
/// migrations).
public protocol SQLStore: Sendable {
    /// `sqlite` or `postgresql`.
    var dialectName: String { get }
    /// Signalled after a transaction that wrote outbox records commits: the relays of this process wait on it.
    var commits: CommitSignals { get }
    /// Runs `body` in one transaction: committed when it returns, rolled back when it throws.
    func withTransaction<Result: Sendable>(_ body: @Sendable (any SQLDatabase) async throws -> Result) async throws
        -> Result
    /// Runs `body` outside a transaction (reads).
    func withDatabase<Result: Sendable>(_ body: @Sendable (any SQLDatabase) async throws -> Result) async throws
        -> Result
}

/// A store adapter with its lifecycle: `run()` owns the adapter's background work (PostgreSQL's pool) until
/// graceful shutdown and then closes it; `close()` releases it outside a service group (once; later calls
/// return at once).
public protocol SQLStoreAdapter: SQLStore, Service {
    func close() async throws
}

/// A storage error with a message.
public struct StoreError: Error, CustomStringConvertible {
    public var description: String
    public init(_ description: String) { self.description = description }
}

extension SQLQueryString {
    /// Appends ` AND <column> = <value>`, the value bound as a parameter (`column` is the code's, never input).
    public mutating func and(_ column: StaticString, equals value: some Encodable & Sendable) {
        appendInterpolation(unsafeRaw: " AND \(column) = ")
        appendInterpolation(bind: value)
    }

    /// Appends `(?, ?, …)` binding `values` (at least one), for `IN`.
    public mutating func appendList(_ values: [some Encodable & Sendable]) {
        appendInterpolation(unsafeRaw: "(")
        for (index, value) in values.enumerated() {
            if index > 0 { appendInterpolation(unsafeRaw: ", ") }
            appendInterpolation(bind: value)
        }
        appendInterpolation(unsafeRaw: ")")
    }
}
