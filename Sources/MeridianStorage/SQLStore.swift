import Foundation
import Logging
import MeridianCore
import NIOCore
import NIOPosix
import NIOSSL
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

    private let writerThread: NIOThreadPool

    private init(connection: SQLiteConnection, writerThread: NIOThreadPool, readers: [SQLiteConnection], logger: Logger) {
        self.connection = connection
        self.writerThread = writerThread
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
        precondition(readerCount >= 1, "reads run on reader connections")
        guard ["FULL", "NORMAL", "EXTRA"].contains(synchronous.uppercased()) else {
            throw SQLiteStoreError.invalidSynchronous(synchronous)
        }
        let directory = (path as NSString).deletingLastPathComponent
        if !directory.isEmpty {
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        }
        // The writer has a thread of its own, so its statements never queue behind reads.
        let writerThread = NIOThreadPool(numberOfThreads: 1)
        writerThread.start()
        let connection = try await SQLiteConnection.open(
            storage: .file(path: path), threadPool: writerThread, logger: logger, on: MultiThreadedEventLoopGroup.singleton.any())
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
        return SQLiteStore(connection: connection, writerThread: writerThread, readers: readers, logger: logger)
    }

    /// Runs `body` as its own transaction, committed together with the transactions queued behind it
    /// (group commit): the caller holding the connection opens `BEGIN IMMEDIATE` when no group is open, runs
    /// its body inside a savepoint (rolled back alone when the body throws), and then either hands the
    /// connection to the next caller and waits for the group's `COMMIT`, or, when nobody waits or the group
    /// is full, commits for everyone. One fsync then covers many transactions; each still sees the ones before
    /// it. Written by hand: SQLite has no group commit of its own (the embedded event log does the same).
    public func withTransaction<Result: Sendable>(
        _ body: @Sendable (any SQLDatabase) async throws -> Result
    ) async throws -> Result {
        try await OutboxActivity.signalAfterCommit {
            await lock.acquire()
            let group: CommitGroup
            do {
                group = try await currentGroup()
            } catch {
                lock.release()
                throw error
            }
            var outcome: Swift.Result<Result, any Error>
            do {
                try await control("SAVEPOINT meridian_tx")
                do {
                    let value = try await body(database)
                    try await control("RELEASE meridian_tx")
                    outcome = .success(value)
                } catch {
                    do {
                        try await control("ROLLBACK TO meridian_tx")
                        try await control("RELEASE meridian_tx")
                    } catch {
                        group.broken = true
                    }
                    outcome = .failure(error)
                }
            } catch {
                group.broken = true
                outcome = .failure(error)
            }
            group.members += 1
            if !group.broken && lock.hasWaiters && group.members < Self.maxGroupSize {
                // The next caller joins this group; this one returns once the group committed.
                lock.release()
                if let failure = await group.committed() { throw failure }
                return try outcome.get()
            }
            let failure = await commit(group)
            lock.release()
            if let failure { throw failure }
            return try outcome.get()
        }
    }

    /// Transactions committed together at most.
    static let maxGroupSize = 64

    /// An open SQLite transaction shared by the transactions of one group. Only touched by the holder of
    /// the writer lock, except for the waiters list.
    final class CommitGroup: @unchecked Sendable {
        var members = 0
        var broken = false
        private let waiters = Mutex<
            (done: Bool, failure: (any Error)?, continuations: [CheckedContinuation<(any Error)?, Never>])
        >(
            (false, nil, []))

        /// Waits until the group committed; returns the commit's error, if any.
        func committed() async -> (any Error)? {
            await withCheckedContinuation { continuation in
                let done = waiters.withLock { state -> (any Error)?? in
                    if state.done { return .some(state.failure) }
                    state.continuations.append(continuation)
                    return nil
                }
                if let done { continuation.resume(returning: done) }
            }
        }

        func finish(_ failure: (any Error)?) {
            let continuations = waiters.withLock { state in
                state.done = true
                state.failure = failure
                defer { state.continuations = [] }
                return state.continuations
            }
            for continuation in continuations { continuation.resume(returning: failure) }
        }
    }

    private let openGroup = Mutex<CommitGroup?>(nil)

    /// The open group, or a new one after `BEGIN IMMEDIATE` (called with the writer lock held).
    private func currentGroup() async throws -> CommitGroup {
        if let group = openGroup.withLock({ $0 }) { return group }
        try await control("BEGIN IMMEDIATE")
        let group = CommitGroup()
        openGroup.withLock { $0 = group }
        return group
    }

    /// Runs one statement that opens or ends a transaction or a savepoint, even when the calling task is
    /// cancelled: skipping it would leave the shared connection inside a transaction that no group owns.
    private func control(_ statement: String) async throws {
        let database = self.database
        try await uncancelled { try await database.raw(SQLQueryString(statement)).run() }
    }

    /// Commits (or, when broken, rolls back) the group and wakes its waiting members (writer lock held).
    private func commit(_ group: CommitGroup) async -> (any Error)? {
        openGroup.withLock { $0 = nil }
        var failure: (any Error)?
        if group.broken {
            failure = StoreError("a transaction of the same commit group failed to roll back; retry")
            try? await control("ROLLBACK")
        } else {
            do {
                try await control("COMMIT")
            } catch {
                failure = error
                try? await control("ROLLBACK")
            }
        }
        group.finish(failure)
        return failure
    }

    public func withDatabase<Result: Sendable>(
        _ body: @Sendable (any SQLDatabase) async throws -> Result
    ) async throws -> Result {
        let reader = readers[nextReader.add(1, ordering: .relaxed).oldValue % readers.count]
        return try await reader.lock.withLock { try await body(reader.database) }
    }

    public func run() async throws {
        try? await gracefulShutdown()
        try await close()
    }

    /// Closes the connections, once (later calls return at once), even from a cancelled task.
    public func close() async throws {
        guard !closed.exchange(true, ordering: .acquiringAndReleasing) else { return }
        let readers = self.readers.map(\.connection)
        let connection = self.connection
        let writerThread = self.writerThread
        try await uncancelled {
            for reader in readers { try? await reader.close() }
            try await connection.close()
            try? await writerThread.shutdownGracefully()
        }
    }

    private let closed = Atomic<Bool>(false)
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

    /// Opens one connection to `url` and closes it: the check `serve` makes before it starts, so that an
    /// unreachable or misconfigured database is one clear error instead of a pool retrying in the background.
    public static func checkConnection(url: String, timeout: Duration = .seconds(10), logger: Logger) async throws {
        guard let target = Target(url) else {
            throw StoreError("not a PostgreSQL URL: expected postgres://user[:password]@host[:port]/database")
        }
        let configuration = PostgresConnection.Configuration(
            host: target.host, port: target.port, username: target.user, password: target.password,
            database: target.database,
            tls: target.requireTLS ? .require(try NIOSSLContext(configuration: .makeClientConfiguration())) : .disable)
        let connect = Task {
            try await PostgresConnection.connect(
                on: MultiThreadedEventLoopGroup.singleton.any(), configuration: configuration, id: 0, logger: logger
            ).get()
        }
        let timer = Task {
            try await Task.sleep(for: timeout)
            connect.cancel()
        }
        defer { timer.cancel() }
        let connection: PostgresConnection
        do {
            connection = try await connect.value
        } catch let error as PSQLError {
            throw StoreError(describe(error))
        }
        try? await connection.close()
    }

    /// A PostgreSQL error in one line: the server's message, or the reason the connection failed.
    static func describe(_ error: PSQLError) -> String {
        if let message = error.serverInfo?[.message] { return message }
        if let underlying = error.underlying {
            let text = "\(underlying)"
            // NIO's connection errors read "...(error set): Connection refused) (errno: 111)".
            if let match = text.firstMatch(of: /\(error set\): ([^()]+)/) { return String(match.1) }
            if let match = text.firstMatch(of: /error: ([^()]+)/) { return match.1.trimmingCharacters(in: .whitespaces) }
            return text
        }
        return "\(error.code)"
    }

    /// What a `postgres://` URL names.
    struct Target {
        var host: String
        var port: Int
        var user: String
        var password: String?
        var database: String?
        var requireTLS: Bool

        init?(_ url: String) {
            guard let components = URLComponents(string: url), ["postgres", "postgresql"].contains(components.scheme),
                let host = components.host, !host.isEmpty, let user = components.user
            else { return nil }
            let database = components.path.hasPrefix("/") ? String(components.path.dropFirst()) : components.path
            self.host = host
            port = components.port ?? 5432
            self.user = user
            password = components.password
            self.database = database.isEmpty ? nil : database
            requireTLS = components.queryItems?.contains { $0.name == "sslmode" && $0.value == "require" } ?? false
        }
    }

    static func configuration(from url: String) -> PostgresClient.Configuration? {
        guard let target = Target(url) else { return nil }
        return PostgresClient.Configuration(
            host: target.host, port: target.port, username: target.user, password: target.password,
            database: target.database, tls: target.requireTLS ? .require(.makeClientConfiguration()) : .disable)
    }

    public func withTransaction<Result: Sendable>(
        _ body: @Sendable (any SQLDatabase) async throws -> Result
    ) async throws -> Result {
        try await OutboxActivity.signalAfterCommit {
            try await client.withConnection { connection in
                let database = connection.sql(queryLogLevel: .trace)
                try await database.raw("BEGIN").run()
                do {
                    let result = try await body(database)
                    try await uncancelled { try await database.raw("COMMIT").run() }
                    return result
                } catch {
                    do {
                        try await uncancelled { try await database.raw("ROLLBACK").run() }
                    } catch {
                        // A connection whose transaction could not be ended must not go back to the pool.
                        try? await connection.close()
                    }
                    throw error
                }
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

    /// True when someone waits for the lock.
    var hasWaiters: Bool { state.withLock { !$0.waiters.isEmpty } }

    func acquire() async {
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

    func release() {
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

extension SQLQueryString {
    /// Appends ` AND <column> = <value>`, the value bound as a parameter (`column` is the code's, never input).
    public mutating func and(_ column: StaticString, equals value: some Encodable & Sendable) {
        appendInterpolation(unsafeRaw: " AND \(column) = ")
        appendInterpolation(bind: value)
    }
}
