import Foundation
import Logging
import MeridianStorage
import MeridianTestSupport
import PostgresNIO
import SQLKit
import Testing

@testable import MeridianPostgres

@Suite struct PreparedStatementsTests {
    @Test func placeholdersGetTheTypeOfTheirValueOutsideQuotesAndComments() {
        let sql = #"SELECT "a$1", '$2 it''s', $1 -- $2"# + "\nFROM t WHERE x = $2 AND y = $10 AND z = $3"
        let casts: [String?] = ["int8", "text", nil, nil, nil, nil, nil, nil, nil, "bool"]
        #expect(
            PreparedStatements.castingPlaceholders(sql, to: casts)
                == #"SELECT "a$1", '$2 it''s', $1::int8 -- $2"# + "\nFROM t WHERE x = $2::text AND y = $10::bool AND z = $3")
        // A placeholder with no bind, or numbered 0: not prepared (the statement runs unnamed and fails there).
        #expect(PreparedStatements.castingPlaceholders("SELECT $2", to: ["int8"]) == nil)
        #expect(PreparedStatements.castingPlaceholders("SELECT $0", to: ["int8"]) == nil)
        #expect(PreparedStatements.castingPlaceholders("SELECT '$", to: []) == "SELECT '$")
        #expect(PreparedStatements.castingPlaceholders("SELECT $$", to: []) == "SELECT $$")
    }

    @Test func valuesOfKnownKindsArePreparedOthersRunUnnamed() throws {
        let none: String? = nil
        let some: Int?? = .some(.some(7))
        let typed = try #require(
            PreparedStatements.typed("INSERT INTO t VALUES ($1, $2, $3, $4, $5)", binds: ["a", 1, true, none, some]))
        #expect(typed.sql == "INSERT INTO t VALUES ($1::text, $2::int8, $3::bool, $4, $5::int8)")
        #expect(typed.values.map(\.type) == [.text, .int8, .bool, .null, .int8])
        #expect(typed.values[3].value == nil)
        struct Shape: Codable, Sendable { var x = 1 }
        #expect(PreparedStatements.typed("SELECT $1", binds: [Shape()]) == nil)
    }

    @Test func statementsRunPreparedOnPostgreSQLWithTheirTypesNullsAndAfterATableChanges() async throws {
        guard backends.contains("postgresql") else { return }  // `backends` said loudly why not
        let database = try await TestDatabase.make("postgresql")
        let store = database.store
        try await store.withTransaction { db in
            try await db.raw(
                "CREATE TABLE things (id TEXT PRIMARY KEY, count INTEGER NOT NULL, big BIGINT, ok BOOLEAN, note TEXT)"
            ).run()
        }
        for number in 0..<8 {  // the same statements again and again: prepared once per connection
            let note: String? = number.isMultiple(of: 2) ? nil : "odd \(number)"
            try await store.withTransaction { db in
                try await db.raw(
                    """
                    INSERT INTO things (id, count, big, ok, note)
                    VALUES (\(bind: "t\(number)"), \(bind: number), \(bind: Int.max - number), \(bind: number > 3), \(bind: note))
                    """
                ).run()
            }
        }
        let rows = try await store.withDatabase { db in
            try await db.raw(
                "SELECT * FROM things WHERE count >= \(bind: 2) AND ok = \(bind: true) ORDER BY count LIMIT \(bind: 3)"
            )
            .all()
        }
        #expect(try rows.map { try $0.decode(column: "id", as: String.self) } == ["t4", "t5", "t6"])
        #expect(try rows.map { try $0.decode(column: "big", as: Int.self) } == [Int.max - 4, Int.max - 5, Int.max - 6])
        #expect(try rows.map { try $0.decode(column: "note", as: String?.self) } == [nil, "odd 5", nil])
        // On one connection, a statement run twice is one prepared statement of that session.
        let prepared = try await store.withDatabase { db in
            for _ in 0..<2 { _ = try await db.raw("SELECT id FROM things WHERE count = \(bind: 1)").all() }
            return try await db.raw(
                "SELECT COUNT(*) AS n FROM pg_prepared_statements WHERE statement = \(bind: "SELECT id FROM things WHERE count = $1::int8")"
            ).first()?.decode(column: "n", as: Int.self)
        }
        #expect(prepared == 1)
        // A table altered under a prepared `SELECT *` on the same connection: read outside a transaction, the
        // statement runs again at once (and sees the new column); the next time it is prepared afresh.
        let columns = try await store.withDatabase { db in
            let select: SQLQueryString = "SELECT * FROM things WHERE count >= \(bind: 2) ORDER BY count LIMIT \(bind: 3)"
            for _ in 0..<2 { _ = try await db.raw(select).all() }
            try await db.raw("ALTER TABLE things ADD COLUMN extra TEXT").run()
            let again = try await db.raw(select).all()
            let afresh = try await db.raw(select).all()
            return (again.first?.allColumns.contains("extra"), afresh.count)
        }
        #expect(columns.0 == true)
        #expect(columns.1 == 3)
        // A statement of a kind it cannot prepare still runs.
        let total = try await store.withDatabase { db in
            try await db.raw("SELECT COUNT(*) AS total FROM things WHERE id = ANY(\(bind: ["t1", "t2"]))").first()?
                .decode(column: "total", as: Int.self)
        }
        #expect(total == 2)
        await database.close()
    }

    @Test func theURLCanTurnPreparedStatementsOff() async throws {
        guard let url = ProcessInfo.processInfo.environment["MERIDIAN_TEST_POSTGRES_URL"] else {
            _ = backends  // says loudly that the PostgreSQL cases are skipped
            return
        }
        func preparedAfterTwoRuns(_ url: String) async throws -> Int? {
            let store = try PostgresStore(url: url, logger: Logger(label: "test"))
            let running = Task { try await store.run() }
            defer { running.cancel() }
            return try await store.withDatabase { db in
                for _ in 0..<2 { _ = try await db.raw("SELECT \(bind: 41) + 1 AS answer").all() }
                return try await db.raw("SELECT COUNT(*) AS n FROM pg_prepared_statements").first()?
                    .decode(column: "n", as: Int.self)
            }
        }
        #expect(try await preparedAfterTwoRuns(url) ?? 0 >= 1)
        #expect(try await preparedAfterTwoRuns(url + "?prepared_statements=false") == 0)
    }
}
