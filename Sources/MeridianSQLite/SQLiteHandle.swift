internal import CSQLite

/// One SQLite connection through the C API, with its prepared statements kept for reuse by SQL text.
///
/// Written by hand because sqlite-nio prepares every statement anew and hops to a thread pool and back to an
/// event loop for each statement and each row; the store's writer holds its lock across those hops, so they,
/// not SQLite, bounded the embedded throughput (docs/benchmarks.md). It uses the system's SQLite (its C module
/// cannot share a Swift module with sqlite-nio's renamed copy, which the embedded event log keeps using; the
/// two never open the same file).
///
/// Not thread-safe: the store's locks give each connection to one task at a time.
final class SQLiteHandle: @unchecked Sendable {
    private struct Prepared {
        let statement: OpaquePointer
        let columns: [String]
    }

    private var raw: OpaquePointer?
    private var cache: [String: Prepared] = [:]
    /// Statements kept at most; beyond it the cache starts over (SQL built from lists varies in length).
    static let cacheLimit = 256

    /// Opens (creating when `create`) the database at `path` in SQLite's multi-thread mode.
    init(path: String, create: Bool) throws {
        var handle: OpaquePointer?
        let flags = SQLITE_OPEN_READWRITE | (create ? SQLITE_OPEN_CREATE : 0) | SQLITE_OPEN_NOMUTEX
        let code = sqlite3_open_v2(path, &handle, flags, nil)
        guard code == SQLITE_OK, let handle else {
            let message = handle.map { String(cString: sqlite3_errmsg($0)) } ?? String(cString: sqlite3_errstr(code))
            sqlite3_close_v2(handle)
            throw SQLiteStatementError(code: code, message: "cannot open \(path): \(message)")
        }
        raw = handle
        sqlite3_extended_result_codes(handle, 1)
    }

    deinit { close() }

    /// Runs one statement with its binds; returns its rows.
    func execute(_ sql: String, _ binds: [SQLiteValue]) throws -> [SQLiteValues] {
        let prepared = try prepare(sql)
        let statement = prepared.statement
        defer {
            sqlite3_reset(statement)
            sqlite3_clear_bindings(statement)
        }
        for (index, value) in binds.enumerated() {
            try check(bind(value, at: Int32(index + 1), in: statement))
        }
        var rows: [SQLiteValues] = []
        while true {
            let code = sqlite3_step(statement)
            if code == SQLITE_DONE { break }
            guard code == SQLITE_ROW else { throw error(code) }
            var values: [SQLiteValue] = []
            values.reserveCapacity(prepared.columns.count)
            for column in 0..<Int32(prepared.columns.count) {
                values.append(Self.value(of: column, in: statement))
            }
            rows.append(SQLiteValues(columns: prepared.columns, values: values))
        }
        return rows
    }

    /// Finalizes the statements and closes the connection (once).
    func close() {
        for prepared in cache.values { sqlite3_finalize(prepared.statement) }
        cache = [:]
        if let raw { sqlite3_close_v2(raw) }
        raw = nil
    }

    private func prepare(_ sql: String) throws -> Prepared {
        if let prepared = cache[sql] { return prepared }
        guard let raw else { throw SQLiteStatementError(code: SQLITE_MISUSE, message: "the connection is closed") }
        var statement: OpaquePointer?
        let code = sqlite3_prepare_v3(raw, sql, -1, UInt32(SQLITE_PREPARE_PERSISTENT), &statement, nil)
        guard code == SQLITE_OK, let statement else { throw error(code) }
        let columns = (0..<sqlite3_column_count(statement)).map { String(cString: sqlite3_column_name(statement, $0)) }
        if cache.count >= Self.cacheLimit {
            for prepared in cache.values { sqlite3_finalize(prepared.statement) }
            cache = [:]
        }
        let prepared = Prepared(statement: statement, columns: columns)
        cache[sql] = prepared
        return prepared
    }

    private func bind(_ value: SQLiteValue, at index: Int32, in statement: OpaquePointer) -> Int32 {
        switch value {
        case .integer(let integer):
            return sqlite3_bind_int64(statement, index, integer)
        case .real(let double):
            return sqlite3_bind_double(statement, index, double)
        case .text(let text):
            // An empty text is still a text, not NULL (the literal is a valid pointer for the call).
            guard !text.isEmpty else { return sqlite3_bind_text64(statement, index, "", 0, Self.transient, UInt8(SQLITE_UTF8)) }
            var text = text
            return text.withUTF8 { bytes in
                bytes.withMemoryRebound(to: CChar.self) { characters in
                    sqlite3_bind_text64(
                        statement, index, characters.baseAddress, UInt64(characters.count), Self.transient, UInt8(SQLITE_UTF8))
                }
            }
        case .blob(let blob):
            // An empty blob is still a blob, not NULL.
            guard !blob.isEmpty else { return sqlite3_bind_zeroblob(statement, index, 0) }
            return blob.withUnsafeBytes { bytes in
                sqlite3_bind_blob64(statement, index, bytes.baseAddress, UInt64(bytes.count), Self.transient)
            }
        case .null:
            return sqlite3_bind_null(statement, index)
        }
    }

    private static func value(of column: Int32, in statement: OpaquePointer) -> SQLiteValue {
        switch sqlite3_column_type(statement, column) {
        case SQLITE_INTEGER:
            return .integer(sqlite3_column_int64(statement, column))
        case SQLITE_FLOAT:
            return .real(sqlite3_column_double(statement, column))
        case SQLITE_TEXT:
            let count = Int(sqlite3_column_bytes(statement, column))
            guard let text = sqlite3_column_text(statement, column) else { return .text("") }
            return .text(String(decoding: UnsafeBufferPointer(start: text, count: count), as: UTF8.self))
        case SQLITE_BLOB:
            let count = Int(sqlite3_column_bytes(statement, column))
            guard count > 0, let blob = sqlite3_column_blob(statement, column) else { return .blob([]) }
            return .blob(Array(UnsafeRawBufferPointer(start: blob, count: count)))
        default:
            return .null
        }
    }

    private func check(_ code: Int32) throws {
        guard code == SQLITE_OK else { throw error(code) }
    }

    private func error(_ code: Int32) -> SQLiteStatementError {
        SQLiteStatementError(code: code, message: raw.map { String(cString: sqlite3_errmsg($0)) } ?? "closed")
    }

    /// `SQLITE_TRANSIENT`: SQLite copies the bound bytes before the call returns.
    private static let transient = unsafeBitCast(-1, to: sqlite3_destructor_type.self)
}

/// A statement SQLite refused, with its message ("UNIQUE constraint failed: users.email").
public struct SQLiteStatementError: Error, CustomStringConvertible {
    public var code: Int32
    public var message: String
    public var description: String { "SQLite error \(code): \(message)" }
}
