import Foundation
import MeridianCore

/// Turns rows into event-log records, without I/O: the columns and options of one job, fixed once its header is
/// known.
public struct RowEvents: Sendable {
    public let jobID: IngestJobID
    public let columns: [String]
    public let options: IngestJobOptions
    public let file: String
    public let topic: String
    let idIndex: Int?
    let timeIndex: Int?
    let keyIndex: Int?
    /// Each column name as a JSON string and a colon, made once: `"name":`.
    let jsonNames: [[UInt8]]

    /// The longest id taken from the id column, in bytes.
    public static let maxIDBytes = 512

    /// Fails naming a configured column that the header lacks.
    public init(jobID: IngestJobID, columns: [String], options: IngestJobOptions, file: String, topic: String)
        throws(IngestJobError)
    {
        self.jobID = jobID
        self.columns = columns
        self.options = options
        self.file = file
        self.topic = topic
        func index(_ name: String?, _ what: String) throws(IngestJobError) -> Int? {
            guard let name else { return nil }
            guard let index = columns.firstIndex(of: name) else {
                throw IngestJobError(.header, "the \(what) column \(name.debugDescription) is not in the header")
            }
            return index
        }
        idIndex = try index(options.idColumn, "id")
        timeIndex = try index(options.timeColumn, "time")
        keyIndex = try index(options.keyColumn, "key")
        jsonNames = columns.map { Self.jsonString($0) + [UInt8(ascii: ":")] }
    }

    /// The header's columns, or why they cannot be: a column without a name, or a name twice.
    public static func checkHeader(_ fields: [String]) throws(IngestJobError) -> [String] {
        guard !fields.isEmpty else { throw IngestJobError(.header, "the header has no columns") }
        var seen = Set<String>()
        for (number, name) in zip(1..., fields) {
            if name.isEmpty { throw IngestJobError(.header, "column \(number) of the header has no name") }
            if !seen.insert(name).inserted { throw IngestJobError(.header, "the header names \(name.debugDescription) twice") }
        }
        return fields
    }

    /// `column_1` … `column_<count>`, for files without a header.
    public static func numberedColumns(_ count: Int) -> [String] {
        (0..<max(count, 0)).map { "column_\($0 + 1)" }
    }

    /// The event id of row `row` when no id column is set: `<job_id>:<row>`.
    public func defaultID(row: Int) -> String { "\(jobID):\(row)" }

    /// The row's record, or why the row is rejected.
    public func record(_ fields: [String], row: Int, now: Date) -> Result<EventRecord, RowRejection> {
        guard fields.count == columns.count else {
            return .failure(RowRejection("expected \(columns.count) columns, found \(fields.count)"))
        }
        var id = defaultID(row: row)
        if let idIndex {
            let value = fields[idIndex]
            if value.isEmpty { return .failure(RowRejection("the id column \(columns[idIndex].debugDescription) is empty")) }
            if value.utf8.count > Self.maxIDBytes || value.unicodeScalars.contains(where: { $0.value < 0x20 || $0.value == 0x7F })
            {
                return .failure(
                    RowRejection(
                        "the id column \(columns[idIndex].debugDescription) is longer than \(Self.maxIDBytes) bytes or has control characters"
                    ))
            }
            id = value
        }
        var time = now
        if let timeIndex {
            let value = fields[timeIndex]
            if value.isEmpty { return .failure(RowRejection("the time column \(columns[timeIndex].debugDescription) is empty")) }
            guard let parsed = Timestamp.parse(value) else {
                return .failure(RowRejection("the time column \(columns[timeIndex].debugDescription) is not an RFC 3339 time"))
            }
            time = parsed
        }
        var key: String?
        if let keyIndex {
            let value = fields[keyIndex]
            if value.isEmpty { return .failure(RowRejection("the key column \(columns[keyIndex].debugDescription) is empty")) }
            key = value
        }
        let event = CloudEvent(id: id, source: options.source, type: options.type, time: time, data: json(fields))
        var record = event.record(topic: topic, aggregateID: key)
        record.headers += headers(row: row)
        return .success(record)
    }

    /// The `events-dlq` record of a rejected row: the raw line as the value, the ingest headers, the `dlq-*` headers
    /// with class `validation`. Its key is the id the row's event would have had.
    public func deadLetter(row: Int, raw: [UInt8], reason: String, topics: Topics) -> EventRecord {
        let original = EventRecord(topic: topic, key: Array(defaultID(row: row).utf8), value: raw, headers: headers(row: row))
        return DeadLetter.record(for: original, topics: topics, error: reason, errorClass: "validation", attempts: 1)
    }

    func headers(row: Int) -> [EventHeader] {
        [EventHeader("ingest_job_id", jobID.rawValue), EventHeader("ingest_file", file), EventHeader("ingest_row", String(row))]
    }

    /// The row as a JSON object keyed by the header, in the header's order.
    ///
    /// Written by hand: it runs for every row, and `JSONEncoder` on a dictionary would lose the column order
    /// (or sort it) and cost several times more.
    public func json(_ fields: [String]) -> [UInt8] {
        var out: [UInt8] = [UInt8(ascii: "{")]
        out.reserveCapacity(fields.reduce(2) { $0 + $1.utf8.count + 8 } + jsonNames.reduce(0) { $0 + $1.count })
        for (index, field) in fields.enumerated() {
            if index > 0 { out.append(UInt8(ascii: ",")) }
            out += jsonNames[index]
            Self.appendJSONString(field, to: &out)
        }
        out.append(UInt8(ascii: "}"))
        return out
    }

    static func jsonString(_ text: String) -> [UInt8] {
        var out: [UInt8] = []
        appendJSONString(text, to: &out)
        return out
    }

    static func appendJSONString(_ text: String, to out: inout [UInt8]) {
        let hex = Array("0123456789abcdef".utf8)
        out.append(UInt8(ascii: "\""))
        for byte in text.utf8 {
            switch byte {
            case UInt8(ascii: "\""): out += [UInt8(ascii: "\\"), UInt8(ascii: "\"")]
            case UInt8(ascii: "\\"): out += [UInt8(ascii: "\\"), UInt8(ascii: "\\")]
            case UInt8(ascii: "\n"): out += [UInt8(ascii: "\\"), UInt8(ascii: "n")]
            case UInt8(ascii: "\r"): out += [UInt8(ascii: "\\"), UInt8(ascii: "r")]
            case UInt8(ascii: "\t"): out += [UInt8(ascii: "\\"), UInt8(ascii: "t")]
            case 0..<0x20, 0x7F:
                out += Array("\\u00".utf8)
                out += [hex[Int(byte >> 4)], hex[Int(byte & 0xF)]]
            default: out.append(byte)
            }
        }
        out.append(UInt8(ascii: "\""))
    }

    /// A row's fields written again as a CSV line (quoted where needed), at most 1,024 bytes: the raw line of a row
    /// that was read but rejected (the reader keeps the raw bytes only of records it could not read).
    public func line(_ fields: [String]) -> [UInt8] {
        let delimiter = options.delimiterByte
        var out: [UInt8] = []
        for (index, field) in fields.enumerated() {
            if index > 0 { out.append(delimiter) }
            let bytes = Array(field.utf8)
            if bytes.contains(where: { $0 == delimiter || $0 == UInt8(ascii: "\"") || $0 == 10 || $0 == 13 }) {
                out.append(UInt8(ascii: "\""))
                for byte in bytes {
                    if byte == UInt8(ascii: "\"") { out.append(byte) }
                    out.append(byte)
                }
                out.append(UInt8(ascii: "\""))
            } else {
                out += bytes
            }
            if out.count >= 1_024 { break }
        }
        return Array(out.prefix(1_024))
    }
}

/// Why a row became no event.
public struct RowRejection: Error, Sendable, Hashable {
    public var reason: String
    public init(_ reason: String) { self.reason = reason }
}
