/// A streaming RFC 4180 reader: bytes in, in chunks of any size, records out, in constant memory.
///
/// Written by hand: the CSV libraries available here (SwiftCSV, CSV.swift) read a whole string or a `String`-based
/// stream and report no byte offsets, and a resumable job needs both constant memory and the byte offset where each
/// record ends (a restart seeks there instead of reading the file again).
///
/// The rules: fields are separated by ``Configuration/delimiter``; records end with LF or CRLF; a field in double
/// quotes may hold delimiters, line breaks and `""` for a quote; a UTF-8 byte order mark at the start is skipped;
/// a record longer than ``Configuration/maxRecordBytes`` is reported as an error without its bytes being kept; a
/// quote inside an unquoted field, text after a closing quote, an unterminated quote and invalid UTF-8 are errors
/// of their record, and reading goes on with the next.
public struct CSVReader: Sendable {
    public struct Configuration: Sendable {
        /// One ASCII byte. Default `,`.
        public var delimiter: UInt8 = UInt8(ascii: ",")
        /// The longest record, in bytes (its line breaks and quotes included). Default 1 MiB.
        public var maxRecordBytes = 1_048_576

        public init() {}
    }

    /// One record: its fields, or why it could not be read.
    public struct Record: Sendable, Hashable {
        public enum Content: Sendable, Hashable {
            case fields([String])
            /// `raw` holds at most the first 1,024 bytes of the record.
            case error(reason: String, raw: [UInt8])
        }

        public var content: Content
        /// The line where the record starts (from 1; a quoted line break starts a new line).
        public var line: Int
        /// The byte offset of the record's first byte, and of the byte after its line break.
        public var start: Int64
        public var end: Int64
        /// The line the next record starts on: with ``end``, where a reader resumes after this record.
        public var nextLine: Int
    }

    private enum State: Sendable {
        /// At the start of a field.
        case fieldStart
        case unquoted
        case quoted
        /// A quote inside a quoted field: the end of the field, or the first of `""`.
        case quoteInQuoted
        /// After a CR outside quotes: an LF ends the record.
        case carriageReturn
        /// The record is already an error: skip to its end, keeping track of quotes.
        case skipping(quoted: Bool)
    }

    public let configuration: Configuration
    /// The offset of the next byte ``read(_:)`` expects.
    public private(set) var offset: Int64
    /// The line the next byte is on.
    public private(set) var line: Int

    private var state = State.fieldStart
    private var fields: [String] = []
    private var field: [UInt8] = []
    private var raw: [UInt8] = []
    private var recordBytes = 0
    private var recordStart: Int64
    private var recordLine: Int
    private var error: String?
    /// True until the first bytes are seen: a byte order mark there is skipped.
    private var atFileStart: Bool
    private var bomPrefix: [UInt8] = []

    /// A reader starting at `offset` of the file (0, or where an earlier record ended), on `line`.
    public init(configuration: Configuration = .init(), offset: Int64 = 0, line: Int = 1) {
        self.configuration = configuration
        self.offset = offset
        self.line = line
        recordStart = offset
        recordLine = line
        atFileStart = offset == 0
    }

    /// Reads the next bytes of the file; returns the records they completed.
    public mutating func read(_ bytes: some Collection<UInt8>) -> [Record] {
        var records: [Record] = []
        for byte in bytes {
            if atFileStart {
                // A UTF-8 byte order mark (EF BB BF) before the first record is not part of it.
                if bomPrefix.count < 3, byte == [0xEF, 0xBB, 0xBF][bomPrefix.count] {
                    bomPrefix.append(byte)
                    offset += 1
                    if bomPrefix.count == 3 {
                        atFileStart = false
                        recordStart = offset
                    }
                    continue
                }
                records += replayBOMPrefix()
            }
            if let record = consume(byte) { records.append(record) }
        }
        return records
    }

    /// Ends the file: returns its last record when it did not end with a line break.
    public mutating func finish() -> Record? {
        // A file of one or two bytes that only looked like the start of a byte order mark.
        if atFileStart { _ = replayBOMPrefix() }
        guard recordBytes > 0 else { return nil }
        switch state {
        case .quoted, .skipping(quoted: true):
            if error == nil { error = "a quoted field is not closed before the end of the file" }
        case .carriageReturn:
            field.append(UInt8(ascii: "\r"))
            endField()
        case .unquoted, .quoteInQuoted, .fieldStart:
            endField()
        case .skipping(quoted: false):
            break
        }
        return complete()
    }

    /// The first bytes were not a byte order mark after all: they belong to the first record.
    private mutating func replayBOMPrefix() -> [Record] {
        atFileStart = false
        let prefix = bomPrefix
        bomPrefix = []
        offset -= Int64(prefix.count)
        return prefix.compactMap { consume($0) }
    }

    private mutating func consume(_ byte: UInt8) -> Record? {
        offset += 1
        recordBytes += 1
        if raw.count < 1_024 { raw.append(byte) }
        if byte == UInt8(ascii: "\n") { line += 1 }
        if error == nil, recordBytes > configuration.maxRecordBytes {
            fail("the record is longer than \(configuration.maxRecordBytes) bytes")
        }
        let delimiter = configuration.delimiter
        switch state {
        case .skipping(let quoted):
            if byte == UInt8(ascii: "\"") {
                state = .skipping(quoted: !quoted)
            } else if byte == UInt8(ascii: "\n"), !quoted {
                return complete()
            }
        case .fieldStart:
            switch byte {
            case UInt8(ascii: "\""): state = .quoted
            case delimiter: endField()
            case UInt8(ascii: "\n"): return endRecord()
            case UInt8(ascii: "\r"): state = .carriageReturn
            default:
                field.append(byte)
                state = .unquoted
            }
        case .unquoted:
            switch byte {
            case delimiter:
                endField()
                state = .fieldStart
            case UInt8(ascii: "\n"): return endRecord()
            case UInt8(ascii: "\r"): state = .carriageReturn
            case UInt8(ascii: "\""): fail("a quote inside an unquoted field")
            default: field.append(byte)
            }
        case .quoted:
            if byte == UInt8(ascii: "\"") { state = .quoteInQuoted } else { field.append(byte) }
        case .quoteInQuoted:
            switch byte {
            case UInt8(ascii: "\""):
                field.append(byte)
                state = .quoted
            case delimiter:
                endField()
                state = .fieldStart
            case UInt8(ascii: "\n"): return endRecord()
            case UInt8(ascii: "\r"): state = .carriageReturn
            default: fail("text after the closing quote of a field")
            }
        case .carriageReturn:
            if byte == UInt8(ascii: "\n") { return endRecord() }
            // A lone CR is data.
            field.append(UInt8(ascii: "\r"))
            switch byte {
            case delimiter:
                endField()
                state = .fieldStart
            case UInt8(ascii: "\r"): state = .carriageReturn
            case UInt8(ascii: "\""): fail("a quote inside an unquoted field")
            default:
                field.append(byte)
                state = .unquoted
            }
        }
        return nil
    }

    private mutating func fail(_ reason: String) {
        if error == nil { error = reason }
        field = []
        fields = []
        // Keep the quote state so the record's end is found where a correct reader would find it.
        switch state {
        case .quoted: state = .skipping(quoted: true)
        case .skipping: break
        default: state = .skipping(quoted: false)
        }
    }

    private mutating func endField() {
        guard error == nil else { return }
        if let text = String(validating: field, as: UTF8.self) {
            fields.append(text)
        } else {
            fail("invalid UTF-8 in field \(fields.count + 1)")
        }
        field = []
    }

    /// A line break outside quotes: the last field ends, and the record with it. A line with nothing on it is a
    /// record of no fields.
    private mutating func endRecord() -> Record {
        let lineBreakOnly: Bool
        switch state {
        case .fieldStart: lineBreakOnly = recordBytes == 1
        case .carriageReturn: lineBreakOnly = recordBytes == 2
        default: lineBreakOnly = false
        }
        if !(lineBreakOnly && fields.isEmpty && field.isEmpty) { endField() }
        return complete()
    }

    private mutating func complete() -> Record {
        let content: Record.Content = error.map { .error(reason: $0, raw: raw) } ?? .fields(fields)
        let record = Record(content: content, line: recordLine, start: recordStart, end: offset, nextLine: line)
        fields = []
        field = []
        raw = []
        recordBytes = 0
        error = nil
        state = .fieldStart
        recordStart = offset
        recordLine = line
        return record
    }
}
