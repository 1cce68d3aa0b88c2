import Foundation
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
        // A table altered under a prepared `SELECT *`: one failure at most, then it is prepared again.
        try await store.withDatabase { db in try await db.raw("ALTER TABLE things ADD COLUMN extra TEXT").run() }
        var read: [any SQLRow]?
        for _ in 0..<3 where read == nil {
            read = try? await store.withDatabase { db in
                try await db.raw(
                    "SELECT * FROM things WHERE count >= \(bind: 2) AND ok = \(bind: true) ORDER BY count LIMIT \(bind: 3)"
                )
                .all()
            }
        }
        #expect(try #require(read).count == 3)
        // A statement of a kind it cannot prepare still runs.
        let total = try await store.withDatabase { db in
            try await db.raw("SELECT COUNT(*) AS total FROM things WHERE id = ANY(\(bind: ["t1", "t2"]))").first()?
                .decode(column: "total", as: Int.self)
        }
        #expect(total == 2)
        await database.close()
    }
}
