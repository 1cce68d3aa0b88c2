import Foundation
import Logging
import NIOCore
import SQLKit

/// A value as SQLite stores it.
enum SQLiteValue: Sendable, Hashable {
    case integer(Int64)
    case real(Double)
    case text(String)
    case blob([UInt8])
    case null
}

/// SQLKit over one ``SQLiteHandle``: `run` decides where a statement executes (in place for the writer, whose
/// statements take microseconds under its lock; on a reader's thread for reads, which may scan).
struct SQLiteSQLDatabase: SQLDatabase {
    let handle: SQLiteHandle
    let logger: Logger
    let eventLoop: any EventLoop
    let run: @Sendable (@escaping @Sendable () throws -> [SQLiteValues]) async throws -> [SQLiteValues]

    var dialect: any SQLDialect { SQLiteSQLDialect() }
    var queryLogLevel: Logger.Level? { .trace }

    func execute(sql query: any SQLExpression, _ onRow: @escaping @Sendable (any SQLRow) -> Void) async throws {
        let (sql, rawBinds) = serialize(query)
        if logger.logLevel <= .trace {
            logger.trace("Executing query", metadata: ["sql": .string(sql), "binds": .array(rawBinds.map { .string("\($0)") })])
        }
        let binds = try rawBinds.map(SQLiteValue.init(binding:))
        let handle = self.handle
        for row in try await run({ try handle.execute(sql, binds) }) { onRow(row) }
    }

    func execute(sql query: any SQLExpression, _ onRow: @escaping @Sendable (any SQLRow) -> Void) -> EventLoopFuture<Void> {
        eventLoop.makeFutureWithTask { try await self.execute(sql: query, onRow) }
    }
}

/// SQLite's SQL as SQLKit writes it: `?NNN` placeholders, double-quoted identifiers, `UPSERT` and `RETURNING`
/// (SQLite 3.35 and later).
struct SQLiteSQLDialect: SQLDialect {
    var name: String { "sqlite" }
    var identifierQuote: any SQLExpression { SQLRaw(#"""#) }
    var literalStringQuote: any SQLExpression { SQLRaw("'") }
    var supportsAutoIncrement: Bool { false }
    var autoIncrementClause: any SQLExpression { SQLRaw("AUTOINCREMENT") }
    func bindPlaceholder(at position: Int) -> any SQLExpression { SQLRaw("?\(position)") }
    func literalBoolean(_ value: Bool) -> any SQLExpression { SQLRaw(value ? "TRUE" : "FALSE") }
    var literalDefault: any SQLExpression { SQLLiteral.null }
    var supportsDropBehavior: Bool { false }
    var upsertSyntax: SQLUpsertSyntax { .standard }
    var supportsReturning: Bool { true }
}

/// An `Optional` whatever it wraps, for the conversions below.
private protocol OptionalValue {
    var isNone: Bool { get }
    static var wrappedType: Any.Type { get }
    static func wrapping(_ value: Any) -> Self
    static var none: Self { get }
}

extension Optional: OptionalValue {
    var isNone: Bool { self == nil }
    static var wrappedType: Any.Type { Wrapped.self }
    static func wrapping(_ value: Any) -> Self { value as? Wrapped }
}

extension SQLiteValue {
    /// A bind as SQLite stores it: integers, floating point, text, bytes, booleans as 0 and 1, nil as NULL;
    /// anything else as its JSON text (as SQLiteKit does).
    init(binding value: any Encodable & Sendable) throws {
        if let optional = value as? any OptionalValue, optional.isNone {
            self = .null
            return
        }
        switch value {
        case let text as String: self = .text(text)
        case let flag as Bool: self = .integer(flag ? 1 : 0)
        case let integer as any BinaryInteger:
            guard let exact = Int64(exactly: integer) else {
                throw EncodingError.invalidValue(
                    integer, .init(codingPath: [], debugDescription: "beyond SQLite's 64-bit integers"))
            }
            self = .integer(exact)
        case let double as Double: self = .real(double)
        case let float as Float: self = .real(Double(float))
        case let data as Data: self = .blob(Array(data))
        case let bytes as [UInt8]: self = .blob(bytes)
        default: self = .text(String(decoding: try JSONEncoder().encode(value), as: UTF8.self))
        }
    }

    /// The value as `type`; throws when it is not one (a NULL for a non-optional, text for a number...).
    func decoded(as type: Any.Type, column: String) throws -> Any {
        if let optional = type as? any OptionalValue.Type {
            if self == .null { return optional.none }
            return optional.wrapping(try decoded(as: optional.wrappedType, column: column))
        }
        switch (type, self) {
        case (is String.Type, .text(let text)): return text
        case (is Int.Type, .integer(let integer)): if let exact = Int(exactly: integer) { return exact }
        case (is Int64.Type, .integer(let integer)): return integer
        case (is Int32.Type, .integer(let integer)): if let exact = Int32(exactly: integer) { return exact }
        case (is Bool.Type, .integer(let integer)): return integer != 0
        case (is Double.Type, .real(let double)): return double
        case (is Double.Type, .integer(let integer)): return Double(integer)
        case (is Data.Type, .blob(let bytes)): return Data(bytes)
        case (is Data.Type, .text(let text)): return Data(text.utf8)
        case (is [UInt8].Type, .blob(let bytes)): return bytes
        case (let decodable as any Decodable.Type, .text(let text)):
            return try JSONDecoder().decode(decodable, from: Data(text.utf8))
        default: break
        }
        throw DecodingError.typeMismatch(
            type, .init(codingPath: [], debugDescription: "column \(column) holds \(self), not a \(type)"))
    }
}

/// A row: the statement's column names and this row's values.
struct SQLiteValues: SQLRow {
    let columns: [String]
    let values: [SQLiteValue]

    var allColumns: [String] { columns }

    func contains(column: String) -> Bool { columns.contains(column) }

    func decodeNil(column: String) throws -> Bool {
        guard let index = columns.firstIndex(of: column) else { return true }
        return values[index] == .null
    }

    func decode<D: Decodable>(column: String, as type: D.Type) throws -> D {
        guard let index = columns.firstIndex(of: column) else {
            throw DecodingError.keyNotFound(
                SQLiteColumn(column), .init(codingPath: [], debugDescription: "no column \(column) in the row"))
        }
        guard let value = try values[index].decoded(as: D.self, column: column) as? D else {
            throw DecodingError.typeMismatch(D.self, .init(codingPath: [], debugDescription: "column \(column)"))
        }
        return value
    }
}

private struct SQLiteColumn: CodingKey {
    var stringValue: String
    var intValue: Int? { nil }
    init(_ name: String) { stringValue = name }
    init?(stringValue: String) { self.stringValue = stringValue }
    init?(intValue: Int) { nil }
}
