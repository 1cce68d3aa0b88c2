import Foundation
import Logging
import MeridianCore
import MeridianStorage
import NIOCore
import NIOPosix
import NIOSSL
import PostgresKit
import PostgresNIO
import SQLKit
import ServiceLifecycle
import Synchronization

/// PostgreSQL through postgres-nio's connection pool (`PostgresClient`), which this service runs.
public final class PostgresStore: SQLStoreAdapter {
    public let dialectName = "postgresql"
    public let commits = CommitSignals()
    public let client: PostgresClient
    private let logger: Logger
    /// Set once ``run()`` started the pool: a caller that comes earlier waits for it instead of leasing from a
    /// pool that does not run yet (which postgres-nio warns about).
    private let running = Atomic<Bool>(false)
    private let started = ChangeSignal()
    /// The statements each connection has prepared (see ``PreparedSQLDatabase``); nil when the URL says
    /// `prepared_statements=false` (a pooler in transaction mode that cannot keep them, such as PgBouncer
    /// before 1.21).
    private let statements: PreparedStatements?

    /// Connects to `url` (`postgres://user:password@host:port/database`) with a pool of at most
    /// `maxConnections`; the pool runs with ``run()``.
    public init(url: String, maxConnections: Int = 20, logger: Logger) throws {
        guard let target = Target(url) else {
            throw StoreError("not a PostgreSQL URL: expected postgres://user[:password]@host[:port]/database")
        }
        var configuration = PostgresStore.configuration(for: target)
        configuration.options.maximumConnections = max(1, maxConnections)
        self.client = PostgresClient(configuration: configuration, backgroundLogger: logger)
        self.logger = logger
        statements = target.preparedStatements ? PreparedStatements() : nil
    }

    /// The SQL database of one leased connection: prepared statements unless the URL turned them off.
    private func database(_ connection: PostgresConnection, inTransaction: Bool) -> any SQLDatabase {
        guard let statements else { return connection.sql(queryLogLevel: .trace) }
        return PreparedSQLDatabase(connection: connection, statements: statements, inTransaction: inTransaction)
    }

    /// Opens one connection to `url` and closes it: the check `serve` makes before it starts, so that an
    /// unreachable or misconfigured database is one clear error instead of a pool retrying in the background.
    public static func checkConnection(url: String, timeout: Duration = .seconds(10), logger: Logger) async throws {
        guard let target = Target(url) else {
            throw StoreError("not a PostgreSQL URL: expected postgres://user[:password]@host[:port]/database")
        }
        let configuration =
            if let socket = target.socketPath {
                PostgresConnection.Configuration(
                    unixSocketPath: socket, username: target.user, password: target.password, database: target.database)
            } else {
                PostgresConnection.Configuration(
                    host: target.host, port: target.port, username: target.user, password: target.password,
                    database: target.database,
                    tls: target.requireTLS ? .require(try NIOSSLContext(configuration: target.tlsConfiguration)) : .disable)
            }
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

    /// What is wrong with the options of a `postgres://` URL (`sslmode`, `sslrootcert`, `prepared_statements`,
    /// `host`), or nil.
    public static func optionsProblem(in url: String) -> String? {
        guard let components = URLComponents(string: url), let target = Target(url) else {
            return "not a PostgreSQL URL: expected postgres://user[:password]@host[:port]/database"
        }
        for item in components.queryItems ?? [] {
            switch (item.name, item.value ?? "") {
            case ("sslmode", let value) where value == "disable" || Target.tlsModes.contains(value): continue
            case ("prepared_statements", "true"), ("prepared_statements", "false"): continue
            case ("host", let value) where value.hasPrefix("/"): continue
            case ("sslrootcert", let value) where value.hasPrefix("/"):
                guard target.requireTLS else { return "sslrootcert needs sslmode=require: it is the CA TLS verifies with" }
                guard FileManager.default.isReadableFile(atPath: value) else {
                    return "sslrootcert=\(value) cannot be read: give a PEM file of the server's CA"
                }
            case ("sslrootcert", let value):
                return "sslrootcert=\(value): give the absolute path of a PEM file of the server's CA"
            case ("sslmode", let value):
                return "sslmode=\(value) is not supported: use require (TLS, certificate verified) or disable"
            case ("prepared_statements", let value):
                return "prepared_statements=\(value): use true or false"
            case ("host", let value):
                return "host=\(value): give the directory of PostgreSQL's Unix socket, an absolute path"
            case (let name, _):
                return "unknown option \(name): the options are sslmode, sslrootcert, prepared_statements and host"
            }
        }
        if target.socketPath != nil, target.requireTLS {
            return "sslmode=require cannot be used with a Unix socket (host=/…): a local socket has no TLS"
        }
        return nil
    }

    /// What a `postgres://` URL names.
    struct Target {
        var host: String
        var port: Int
        var user: String
        var password: String?
        var database: String?
        var requireTLS: Bool
        /// `prepared_statements=false` runs every statement unnamed.
        var preparedStatements: Bool
        /// `sslrootcert=/path/ca.pem` (libpq's name): the CA the server's certificate is verified against, instead of
        /// the system's (Cloud SQL and DigitalOcean sign with CAs of their own).
        var rootCertificate: String?
        /// With `host=/directory` (libpq's convention), the server's Unix socket in that directory,
        /// `.s.PGSQL.<port>`: no TCP for a server on the same machine (or a proxy's socket, as the Cloud SQL
        /// Auth Proxy offers).
        var socketPath: String?

        /// The `sslmode` values that mean TLS. Our TLS always verifies the server's certificate and name, so
        /// libpq's verify-ca and verify-full mean the same as require here.
        static let tlsModes: Set<String> = ["require", "verify-ca", "verify-full"]

        init?(_ url: String) {
            guard let components = URLComponents(string: url), ["postgres", "postgresql"].contains(components.scheme),
                let user = components.user
            else { return nil }
            let socketDirectory = components.queryItems?.last { $0.name == "host" }?.value.flatMap {
                $0.hasPrefix("/") ? $0 : nil
            }
            let host = components.host ?? ""
            // A host is needed unless a socket directory stands in for it.
            guard !host.isEmpty || socketDirectory != nil else { return nil }
            let database = components.path.hasPrefix("/") ? String(components.path.dropFirst()) : components.path
            self.host = host.isEmpty ? "localhost" : host
            port = components.port ?? 5432
            socketPath = socketDirectory.map {
                ($0.hasSuffix("/") ? String($0.dropLast()) : $0) + "/.s.PGSQL.\(components.port ?? 5432)"
            }
            self.user = user
            password = components.password
            self.database = database.isEmpty ? nil : database
            requireTLS =
                components.queryItems?.contains { $0.name == "sslmode" && Self.tlsModes.contains($0.value ?? "") } ?? false
            preparedStatements =
                components.queryItems?.contains { $0.name == "prepared_statements" && $0.value == "false" } != true
            rootCertificate = components.queryItems?.last { $0.name == "sslrootcert" }?.value
        }

        /// TLS that verifies the server's certificate and name, against `sslrootcert` when given.
        var tlsConfiguration: TLSConfiguration {
            var configuration = TLSConfiguration.makeClientConfiguration()
            if let rootCertificate { configuration.trustRoots = .file(rootCertificate) }
            return configuration
        }
    }

    static func configuration(from url: String) -> PostgresClient.Configuration? {
        Target(url).map(configuration(for:))
    }

    static func configuration(for target: Target) -> PostgresClient.Configuration {
        if let socket = target.socketPath {
            return PostgresClient.Configuration(
                unixSocketPath: socket, username: target.user, password: target.password, database: target.database)
        }
        return PostgresClient.Configuration(
            host: target.host, port: target.port, username: target.user, password: target.password,
            database: target.database, tls: target.requireTLS ? .require(target.tlsConfiguration) : .disable)
    }

    /// Returns once ``run()`` has started the pool (at once from then on).
    private func poolRunning() async {
        guard !running.load(ordering: .acquiring) else { return }
        while !running.load(ordering: .acquiring), !Task.isCancelled {
            let seen = started.version
            if running.load(ordering: .acquiring) { break }
            await started.wait(after: seen, timeout: .seconds(1))
        }
        // `run()` hands the pool's own `run()` to a child task: give it a moment to be entered.
        try? await Task.sleep(for: .milliseconds(20))
    }

    public func withTransaction<Result: Sendable>(
        _ body: @Sendable (any SQLDatabase) async throws -> Result
    ) async throws -> Result {
        await poolRunning()
        return try await commits.afterCommit {
            try await client.withConnection { connection in
                let database = self.database(connection, inTransaction: true)
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
        await poolRunning()
        return try await client.withConnection { connection in
            try await body(database(connection, inTransaction: false))
        }
    }

    /// Runs the pool until the task is cancelled (graceful shutdown cancels it).
    public func run() async throws {
        await cancelWhenGracefulShutdown {
            // Marked running right before the pool's own `run()`, in the same stretch of this task.
            self.running.store(true, ordering: .releasing)
            self.started.signal()
            await self.client.run()
        }
    }

    /// Nothing to release: the pool stops when ``run()`` ends.
    public func close() async throws {}
}
