import Logging
import NIOCore
import PostgresKit
import PostgresNIO
import SQLKit
import Synchronization

/// SQLKit's database over one leased PostgreSQL connection that runs each statement as a named prepared
/// statement of that connection: parsed, analysed and described once, then only bound and executed.
///
/// Written here because postgres-kit's `sql()` sends every statement unnamed, which PostgreSQL parses and plans
/// anew each time (for the order flow's short statements that is about a third of the server's work), and
/// postgres-nio's typed `PostgresPreparedStatement` wants one Swift type per statement. postgres-nio's
/// `prepare(query:)` prepares a statement without declared parameter types, so the SQL gets the types instead:
/// each `$n` becomes `$n::TYPE` of the value bound to it, which is what declaring the type does (PostgreSQL
/// resolves the statement the same way). A statement with a value of another kind (or more than
/// ``PreparedStatements/maxPerConnection`` statements on one connection) runs unnamed, as before.
struct PreparedSQLDatabase: SQLDatabase {
    let connection: PostgresConnection
    let statements: PreparedStatements
    /// Inside a transaction a failed statement aborts it; outside one, a statement that lost its plan to a
    /// migration runs again unnamed at once.
    let inTransaction: Bool

    var logger: Logger { connection.logger }
    var eventLoop: any EventLoop { connection.eventLoop }
    var version: (any SQLDatabaseReportedVersion)? { nil }
    var dialect: any SQLDialect { PostgresDialect() }
    var queryLogLevel: Logger.Level? { .trace }

    func execute(sql query: any SQLExpression, _ onRow: @escaping @Sendable (any SQLRow) -> Void) async throws {
        let (sql, binds) = serialize(query)
        if logger.logLevel <= .trace {
            logger.trace("Executing query", metadata: ["sql": .string(sql), "binds": .array(binds.map { .string("\($0)") })])
        }
        /// The statement as postgres-kit runs it: unnamed, parsed and planned for this execution only.
        func unnamed() async throws { try await connection.sql(queryLogLevel: nil).execute(sql: query, onRow) }
        guard let typed = PreparedStatements.typed(sql, binds: binds),
            let statement = try await statements.statement(for: typed.sql, on: connection)
        else {
            return try await unnamed()
        }
        do {
            try await statement.execute(typed.values) { onRow(PreparedRow(row: $0.makeRandomAccess())) }.get()
        } catch  where PreparedStatements.invalidates(error) {
            // The statement no longer fits the schema (a migration altered a table) or the session lost it.
            statements.forget(connection)
            if inTransaction { throw error }
            try await unnamed()
        }
    }

    func execute(sql query: any SQLExpression, _ onRow: @escaping @Sendable (any SQLRow) -> Void) -> EventLoopFuture<Void> {
        eventLoop.makeFutureWithTask { try await self.execute(sql: query, onRow) }
    }
}

/// A row of a prepared statement. postgres-nio asks for every result column in binary but describes a statement
/// prepared with `prepare(query:)` with the formats of its `Describe` (text), so the cells are read as binary here.
struct PreparedRow: SQLRow {
    let row: PostgresRandomAccessRow

    var allColumns: [String] { row.map(\.columnName) }
    func contains(column: String) -> Bool { row.contains(column) }
    func decodeNil(column: String) throws -> Bool { !row.contains(column) || row[column].bytes == nil }

    func decode<T: Decodable>(column: String, as type: T.Type) throws -> T {
        guard row.contains(column) else {
            throw DecodingError.keyNotFound(
                Column(stringValue: column), .init(codingPath: [], debugDescription: "no column \(column) in the row"))
        }
        let cell = row[column]
        guard let decodable = T.self as? any PostgresDecodable.Type else {
            throw DecodingError.typeMismatch(
                T.self, .init(codingPath: [Column(stringValue: column)], debugDescription: "not a PostgreSQL value type"))
        }
        var bytes = cell.bytes
        return try decodable._decodeRaw(from: &bytes, type: cell.dataType, format: .binary, context: .default) as! T
    }
}

private struct Column: CodingKey {
    var stringValue: String
    var intValue: Int? { nil }
    init(stringValue: String) { self.stringValue = stringValue }
    init?(intValue: Int) { nil }
}

/// The statements prepared on each of the pool's connections, by the SQL they were prepared from.
final class PreparedStatements: Sendable {
    /// Past this many statements, a connection runs new ones unnamed (statements with long `IN` lists vary).
    static let maxPerConnection = 256
    /// Past this many connections (the pool replaced some), the cache starts again.
    static let maxConnections = 512

    private let byConnection = Mutex<[PostgresConnection.ID: [String: PreparedQuery]]>([:])

    /// The statement for `sql` on `connection`, prepared now if it is new there; nil past the limit.
    func statement(for sql: String, on connection: PostgresConnection) async throws -> PreparedQuery? {
        let id = connection.id
        let known = byConnection.withLock { all -> (PreparedQuery?, full: Bool) in
            let statements = all[id]
            return (statements?[sql], (statements?.count ?? 0) >= Self.maxPerConnection)
        }
        if let statement = known.0 { return statement }
        if known.full { return nil }
        // A leased connection serves one task at a time: no one else prepares on it meanwhile.
        let statement = try await connection.prepare(query: sql).get()
        byConnection.withLock { all in
            if all[id] == nil, all.count >= Self.maxConnections { all.removeAll() }
            all[id, default: [:]][sql] = statement
        }
        return statement
    }

    func forget(_ connection: PostgresConnection) {
        _ = byConnection.withLock { $0.removeValue(forKey: connection.id) }
    }

    /// Errors after which a connection's statements are prepared again: the cached plan's result type changed
    /// (0A000, a table was altered) or the statement does not exist (26000).
    static func invalidates(_ error: any Error) -> Bool {
        // postgres-nio's prepared-statement path answers with its older error type.
        let code = (error as? PostgresError)?.code.raw ?? (error as? PSQLError)?.serverInfo?[.sqlState]
        return code == "0A000" || code == "26000"
    }

    /// The types a statement's parameters get, by the value bound: names PostgreSQL reads in a cast.
    private static let typeNames: [PostgresDataType: String] = [
        .bool: "bool", .int2: "int2", .int4: "int4", .int8: "int8", .float4: "float4", .float8: "float8",
        .text: "text", .varchar: "varchar", .bytea: "bytea", .uuid: "uuid", .jsonb: "jsonb", .json: "json",
    ]

    /// `sql` with each placeholder cast to the type of its value, and the values as postgres-nio binds them;
    /// nil when a value is of a kind not listed in ``typeNames`` (the statement then runs unnamed). A NULL
    /// gets no cast: PostgreSQL infers its type from where it stands, as it does for an unnamed statement.
    static func typed(_ sql: String, binds: [any Encodable & Sendable]) -> (sql: String, values: [PostgresData])? {
        var values: [PostgresData] = []
        var casts: [String?] = []
        values.reserveCapacity(binds.count)
        casts.reserveCapacity(binds.count)
        for bind in binds {
            guard let value = unwrapped(bind) else {
                values.append(PostgresData(type: .null))
                casts.append(nil)
                continue
            }
            guard let encodable = value as? any PostgresThrowingDynamicTypeEncodable, encodable.psqlFormat == .binary,
                let name = typeNames[encodable.psqlType]
            else { return nil }
            var buffer = ByteBuffer()
            do {
                try encodable.encode(into: &buffer, context: .default)
            } catch {
                return nil
            }
            values.append(PostgresData(type: encodable.psqlType, formatCode: .binary, value: buffer))
            casts.append(name)
        }
        guard let rewritten = castingPlaceholders(sql, to: casts) else { return nil }
        return (rewritten, values)
    }

    /// The value inside any number of optionals; nil for none.
    private static func unwrapped(_ value: Any) -> Any? {
        guard let optional = value as? any OptionalBind else { return value }
        return optional.wrappedBind.flatMap(unwrapped)
    }

    /// Appends `::type` to every `$n` outside quoted text, identifiers and comments; nil if a placeholder
    /// names no bind.
    static func castingPlaceholders(_ sql: String, to casts: [String?]) -> String? {
        let bytes = Array(sql.utf8)
        var output: [UInt8] = []
        output.reserveCapacity(bytes.count + casts.count * 6)
        var index = 0
        while index < bytes.count {
            let byte = bytes[index]
            switch byte {
            case UInt8(ascii: "'"), UInt8(ascii: "\""):
                // Quoted text or identifier up to its closing quote (a doubled quote stays inside).
                var end = index + 1
                while end < bytes.count {
                    if bytes[end] == byte {
                        if end + 1 < bytes.count, bytes[end + 1] == byte { end += 2 } else { break }
                    } else {
                        end += 1
                    }
                }
                let stop = min(end + 1, bytes.count)
                output.append(contentsOf: bytes[index..<stop])
                index = stop
            case UInt8(ascii: "-") where index + 1 < bytes.count && bytes[index + 1] == UInt8(ascii: "-"):
                let end = bytes[index...].firstIndex(of: UInt8(ascii: "\n")) ?? bytes.count
                output.append(contentsOf: bytes[index..<end])
                index = end
            case UInt8(ascii: "$"):
                var end = index + 1
                var number = 0
                while end < bytes.count, (48...57).contains(bytes[end]), number < 100_000 {
                    number = number * 10 + Int(bytes[end] - 48)
                    end += 1
                }
                output.append(contentsOf: bytes[index..<end])
                if end > index + 1 {
                    guard (1...casts.count).contains(number) else { return nil }
                    if let cast = casts[number - 1] {
                        output.append(contentsOf: "::".utf8)
                        output.append(contentsOf: cast.utf8)
                    }
                }
                index = end
            default:
                output.append(byte)
                index += 1
            }
        }
        return String(decoding: output, as: UTF8.self)
    }
}

/// An `Optional` whatever it wraps, to bind what it holds.
private protocol OptionalBind {
    var wrappedBind: Any? { get }
}

extension Optional: OptionalBind {
    var wrappedBind: Any? { self.map { $0 as Any } }
}
