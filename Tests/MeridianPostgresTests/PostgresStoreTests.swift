import Foundation
import Logging
import MeridianTestSupport
import Testing

@testable import MeridianPostgres

@Suite struct PostgresStoreTests {
    @Test func postgresURLs() {
        #expect(PostgresStore.configuration(from: "postgres://u:p@db.example:6543/shop") != nil)
        #expect(PostgresStore.configuration(from: "postgresql://u@127.0.0.1/shop?sslmode=require") != nil)
        #expect(PostgresStore.configuration(from: "mysql://u@h/d") == nil)
        #expect(PostgresStore.configuration(from: "postgres:///nohost") == nil)
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
