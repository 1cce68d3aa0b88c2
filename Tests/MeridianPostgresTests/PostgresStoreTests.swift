import Foundation
import Logging
import MeridianTestSupport
import SQLKit
import Testing

@testable import MeridianPostgres

@Suite struct PostgresStoreTests {
    @Test func postgresURLs() {
        #expect(PostgresStore.configuration(from: "postgres://u:p@db.example:6543/shop") != nil)
        #expect(PostgresStore.configuration(from: "postgresql://u@127.0.0.1/shop?sslmode=require") != nil)
        #expect(PostgresStore.configuration(from: "mysql://u@h/d") == nil)
        #expect(PostgresStore.configuration(from: "postgres:///nohost") == nil)
    }

    @Test func urlOptionsAreCheckedAndNamed() {
        #expect(PostgresStore.optionsProblem(in: "postgres://u@db/shop") == nil)
        #expect(PostgresStore.optionsProblem(in: "postgres://u@db/shop?sslmode=verify-full&prepared_statements=false") == nil)
        #expect(PostgresStore.optionsProblem(in: "postgres://u@db/shop?sslmode=prefer")?.contains("sslmode=prefer") == true)
        #expect(PostgresStore.optionsProblem(in: "postgres://u@db/shop?prepared_statements=1")?.contains("true or false") == true)
        #expect(PostgresStore.optionsProblem(in: "postgres://u@db/shop?pool=3")?.contains("unknown option pool") == true)
        #expect(PostgresStore.optionsProblem(in: "postgres:///nohost") != nil)
        #expect(PostgresStore.optionsProblem(in: "postgres://u@/shop?host=/run/postgresql") == nil)
        #expect(PostgresStore.optionsProblem(in: "postgres://u@db/shop?host=db2")?.contains("absolute path") == true)
        #expect(
            PostgresStore.optionsProblem(in: "postgres://u@/shop?host=/run/postgresql&sslmode=require")?.contains(
                "Unix socket") == true)
    }

    @Test func aSocketDirectoryNamesTheServersSocket() throws {
        let target = try #require(PostgresStore.Target("postgres://u@/shop?host=/run/postgresql/"))
        #expect(target.socketPath == "/run/postgresql/.s.PGSQL.5432")
        #expect(target.database == "shop")
        #expect(PostgresStore.Target("postgres://u@localhost:6000/shop?host=/tmp")?.socketPath == "/tmp/.s.PGSQL.6000")
        #expect(PostgresStore.Target("postgres://u@db/shop")?.socketPath == nil)
    }

    /// scripts/with-postgres.sh also says where its server's socket is: the store works through it.
    @Test(
        .enabled(
            if: ProcessInfo.processInfo.environment["MERIDIAN_TEST_POSTGRES_SOCKET_DIR"] != nil,
            "needs MERIDIAN_TEST_POSTGRES_SOCKET_DIR, which scripts/with-postgres.sh (make test) sets"))
    func connectsThroughTheUnixSocket() async throws {
        let environment = ProcessInfo.processInfo.environment
        let url = try #require(environment["MERIDIAN_TEST_POSTGRES_URL"])
        let directory = try #require(environment["MERIDIAN_TEST_POSTGRES_SOCKET_DIR"])
        var components = try #require(URLComponents(string: url))
        components.host = nil
        components.queryItems = [URLQueryItem(name: "host", value: directory)]
        let socketURL = try #require(components.string)
        try await PostgresStore.checkConnection(url: socketURL, logger: Logger(label: "test"))
        let store = try PostgresStore(url: socketURL, logger: Logger(label: "test"))
        let running = Task { try await store.run() }
        defer { running.cancel() }
        let address = try await store.withDatabase { db in
            try await db.raw("SELECT COALESCE(inet_client_addr()::text, 'local') AS address").first()!
                .decode(column: "address", as: String.self)
        }
        // A Unix-socket session has no client IP address.
        #expect(address == "local")
    }

    @Test func thePoolOpensAtMostMaxConnections() async throws {
        guard let url = ProcessInfo.processInfo.environment["MERIDIAN_TEST_POSTGRES_URL"] else {
            _ = backends  // says loudly that the PostgreSQL cases are skipped
            return
        }
        let store = try PostgresStore(url: url, maxConnections: 2, logger: Logger(label: "test"))
        let running = Task { try await store.run() }
        defer { running.cancel() }
        // Eight sessions at once, each long enough to overlap: at most two server processes serve them.
        let pids = try await withThrowingTaskGroup(of: Int.self) { group in
            for _ in 0..<8 {
                group.addTask {
                    try await store.withDatabase { db in
                        try await db.raw("SELECT pg_backend_pid() AS pid, pg_sleep(0.05)").first()!
                            .decode(column: "pid", as: Int.self)
                    }
                }
            }
            return try await group.reduce(into: Set<Int>()) { $0.insert($1) }
        }
        #expect((1...2).contains(pids.count), "\(pids.count) connections")
    }

    @Test func anUnreachableDatabaseIsOneClearError() async throws {
        let port = try freePort()
        do {
            try await PostgresStore.checkConnection(
                url: "postgres://meridian:secret@127.0.0.1:\(port)/shop", logger: Logger(label: "test"))
            Issue.record("nothing listens on \(port)")
        } catch {
            #expect("\(error)".contains("refused"), "\(error)")
            #expect(!"\(error)".contains("secret"))
        }
    }

    @Test func aReachableDatabaseChecksOut() async throws {
        guard let url = ProcessInfo.processInfo.environment["MERIDIAN_TEST_POSTGRES_URL"] else {
            _ = backends  // says loudly that the PostgreSQL cases are skipped
            return
        }
        try await PostgresStore.checkConnection(url: url, logger: Logger(label: "test"))
    }
}
