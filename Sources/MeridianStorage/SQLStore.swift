import Foundation
import Logging
import MeridianCore
import NIOCore
import PostgresKit
import PostgresNIO
import SQLKit
import SQLiteKit
import ServiceLifecycle
import Synchronization

/// The SQL storage port: transactions over SQLKit, on SQLite (embedded) or PostgreSQL.
///
/// Services write their state and their outbox records in one ``withTransaction(_:)``; a line of
/// service code never needs to know which database is underneath (the dialect differences live in the
/// migrations).
public protocol SQLStore: Sendable {
    /// `sqlite` or `postgresql`.
    var dialectName: String { get }
    /// Runs `body` in one transaction: committed when it returns, rolled back when it throws.
    func withTransaction<Result: Sendable>(_ body: @Sendable (any SQLDatabase) async throws -> Result) async throws
        -> Result
    /// Runs `body` outside a transaction (reads).
    func withDatabase<Result: Sendable>(_ body: @Sendable (any SQLDatabase) async throws -> Result) async throws
        -> Result
}

/// The embedded store: one SQLite database file in WAL mode. Transactions run one at a time on the writer
/// connection; reads (`withDatabase`) run on reader connections in parallel with them (WAL lets readers
/// see the last commit without waiting for the writer).
public final class SQLiteStore: SQLStore, Service {
    public let dialectName = "sqlite"
    private let connection: SQLiteConnection
    private let database: any SQLDatabase
    private let lock = AsyncLock()
    private let readers: [(connection: SQLiteConnection, database: any SQLDatabase, lock: AsyncLock)]
    private let nextReader = Atomic<Int>(0)

    private init(connection: SQLiteConnection, readers: [SQLiteConnection], logger: Logger) {
        self.connection = connection
        self.database = connection.sql(queryLogLevel: .trace)
        self.readers = readers.map { ($0, $0.sql(queryLogLevel: .trace), AsyncLock()) }
    }

    /// Opens (creating if needed) the database at `path`.
    ///
    /// - Parameter synchronous: SQLite's `synchronous` pragma: `FULL` (the default) makes every commit
    ///   durable against power loss; `NORMAL` (in WAL mode) against a crash of the process only, for fewer fsyncs.
    /// - Parameter readerCount: connections for reads beside the writer.
    public static func open(path: String, synchronous: String = "FULL", readerCount: Int = 2, logger: Logger) async throws
        -> SQLiteStore
    {
        guard ["FULL", "NORMAL", "EXTRA"].contains(synchronous.uppercased()) else {
            throw SQLiteStoreError.invalidSynchronous(synchronous)
        }
        let directory = (path as NSString).deletingLastPathComponent
        if !directory.isEmpty {
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        }
        let connection = try await SQLiteConnection.open(storage: .file(path: path), logger: logger)
        _ = try await connection.query("PRAGMA journal_mode=WAL")
        _ = try await connection.query("PRAGMA synchronous=\(synchronous.uppercased())")
        _ = try await connection.query("PRAGMA foreign_keys=ON")
        _ = try await connection.query("PRAGMA busy_timeout=5000")
        var readers: [SQLiteConnection] = []
        for _ in 0..<readerCount {
            let reader = try await SQLiteConnection.open(storage: .file(path: path), logger: logger)
            _ = try await reader.query("PRAGMA busy_timeout=5000")
            _ = try await reader.query("PRAGMA query_only=ON")
            readers.append(reader)
        }
        return SQLiteStore(connection: connection, readers: readers, logger: logger)
    }

    public func withTransaction<Result: Sendable>(
        _ body: @Sendable (any SQLDatabase) async throws -> Result
    ) async throws -> Result {
        try await OutboxActivity.signalAfterCommit {
            try await lock.withLock { try await transaction(on: database, begin: "BEGIN IMMEDIATE", body) }
        }
    }

    public func withDatabase<Result: Sendable>(
        _ body: @Sendable (any SQLDatabase) async throws -> Result
    ) async throws -> Result {
        guard !readers.isEmpty else { return try await lock.withLock { try await body(database) } }
        let reader = readers[nextReader.add(1, ordering: .relaxed).oldValue % readers.count]
        return try await reader.lock.withLock { try await body(reader.database) }
    }

    public func run() async throws {
        try? await gracefulShutdown()
        try await close()
    }

    public func close() async throws {
        for reader in readers { try? await reader.connection.close() }
        try await connection.close()
    }
}

public enum SQLiteStoreError: Error {
    case invalidSynchronous(String)
}

/// PostgreSQL through postgres-nio's connection pool (`PostgresClient`), which this service runs.
public final class PostgresStore: SQLStore, Service {
    public let dialectName = "postgresql"
    public let client: PostgresClient
    private let logger: Logger

    /// Connects to `url` (`postgres://user:password@host:port/database`); the pool runs with ``run()``.
    public init(url: String, logger: Logger) throws {
        guard let configuration = PostgresStore.configuration(from: url) else {
            throw StoreError("not a PostgreSQL URL: expected postgres://user[:password]@host[:port]/database")
        }
        self.client = PostgresClient(configuration: configuration, backgroundLogger: logger)
        self.logger = logger
    }

    static func configuration(from url: String) -> PostgresClient.Configuration? {
        guard let components = URLComponents(string: url), ["postgres", "postgresql"].contains(components.scheme),
            let host = components.host, let user = components.user
        else { return nil }
        let database = components.path.hasPrefix("/") ? String(components.path.dropFirst()) : components.path
        let requireTLS = components.queryItems?.contains { $0.name == "sslmode" && $0.value == "require" } ?? false
        return PostgresClient.Configuration(
            host: host, port: components.port ?? 5432, username: user, password: components.password,
            database: database.isEmpty ? nil : database,
            tls: requireTLS ? .require(.makeClientConfiguration()) : .disable)
    }

    public func withTransaction<Result: Sendable>(
        _ body: @Sendable (any SQLDatabase) async throws -> Result
    ) async throws -> Result {
        try await OutboxActivity.signalAfterCommit {
            try await client.withConnection { connection in
                try await transaction(on: connection.sql(queryLogLevel: .trace), begin: "BEGIN", body)
            }
        }
    }

    public func withDatabase<Result: Sendable>(
        _ body: @Sendable (any SQLDatabase) async throws -> Result
    ) async throws -> Result {
        try await client.withConnection { connection in try await body(connection.sql(queryLogLevel: .trace)) }
    }

    public func run() async throws {
        await client.run()
    }
}

/// Runs `body` between `begin` and `COMMIT`, rolling back when it throws.
private func transaction<Result: Sendable>(
    on database: any SQLDatabase,
    begin: String,
    _ body: @Sendable (any SQLDatabase) async throws -> Result
) async throws -> Result {
    try await database.raw("\(unsafeRaw: begin)").run()
    do {
        let result = try await body(database)
        try await database.raw("COMMIT").run()
        return result
    } catch {
        try? await database.raw("ROLLBACK").run()
        throw error
    }
}

/// A storage error with a message.
public struct StoreError: Error, CustomStringConvertible {
    public var description: String
    public init(_ description: String) { self.description = description }
}

/// A lock for async code: one holder at a time, waiters resumed in order.
///
/// Written by hand: the standard library's `Mutex` must not be held across `await`, and SQLite's single
/// connection must run one transaction at a time.
final class AsyncLock: Sendable {
    private struct State {
        var locked = false
        var waiters: [CheckedContinuation<Void, Never>] = []
    }

    private let state = Mutex(State())

    func withLock<Result: Sendable>(_ body: () async throws -> Result) async throws -> Result {
        await acquire()
        defer { release() }
        return try await body()
    }

    private func acquire() async {
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            let acquired = state.withLock { state -> Bool in
                if state.locked {
                    state.waiters.append(continuation)
                    return false
                }
                state.locked = true
                return true
            }
            if acquired { continuation.resume() }
        }
    }

    private func release() {
        let next = state.withLock { state -> CheckedContinuation<Void, Never>? in
            if state.waiters.isEmpty {
                state.locked = false
                return nil
            }
            return state.waiters.removeFirst()
        }
        next?.resume()
    }
}
