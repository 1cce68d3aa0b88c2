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
