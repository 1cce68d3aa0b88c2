/// A validating JSON scanner over bytes that reports where each value is, without building objects.
///
/// Written by hand because no available library gives the raw byte range of a JSON value: the ingestor
/// validates an event envelope, reads its few attributes and forwards `data` as the exact bytes the
/// client sent, with no re-serialisation. It follows RFC 8259 (no trailing commas, no comments),
/// limits nesting to ``maxDepth`` and reports errors with a line and column.
struct JSONScanner {
    /// The kind of a scanned value.
    enum Kind: Equatable {
        case object, array, string, number, bool, null
    }

    /// A value: its kind and its bytes in the input (for strings, including the quotes).
    struct Value {
        var kind: Kind
        var range: Range<Int>
    }

    struct Failure: Error {
        var message: String
        var offset: Int
    }

    static let maxDepth = 256

    /// An object's members in order, as (decoded name, value); for an array, its elements with empty names.
    typealias Members = [(key: String, value: Value)]

    let bytes: [UInt8]
    /// Where the text to scan starts in `bytes` (positions in errors count from here).
    let start: Int
    /// Where the text to scan ends in `bytes` (exclusive): one line of a larger body needs no copy.
    let end: Int
    private(set) var index: Int

    init(_ bytes: [UInt8], from start: Int = 0) {
        self.init(bytes, in: start..<bytes.count)
    }

    init(_ bytes: [UInt8], in range: Range<Int>) {
        self.bytes = bytes
        self.start = range.lowerBound
        self.end = range.upperBound
        self.index = range.lowerBound
    }

    /// "line L, column C" for a byte offset.
    func position(of offset: Int) -> String {
        var line = 1
        var column = 1
        for byte in bytes[start..<max(start, min(offset, end))] {
            if byte == UInt8(ascii: "\n") {
                line += 1
                column = 1
            } else if byte & 0xC0 != 0x80 {
                column += 1
            }
        }
        return "line \(line), column \(column)"
    }

    /// Scans exactly one JSON document (surrounding whitespace allowed).
    mutating func document() throws(Failure) -> Value {
        try documentWithChildren().value
    }

    /// Scans exactly one JSON document like ``document()`` and, in the same pass, gives the members of a
    /// top-level object (or the elements of a top-level array); nil for any other value. Reading them
    /// afterwards with ``members(of:)`` would scan the document twice.
    ///
    /// - Parameter limit: children kept at most plus one (so a caller can tell there were more): a body of
    ///   millions of tiny elements must not become millions of entries in memory.
    mutating func documentWithChildren(limit: Int = .max) throws(Failure) -> (value: Value, children: Members?) {
        skipWhitespace()
        var children: Members = []
        let value: Value
        let collected: Bool
        switch peek {
        case UInt8(ascii: "{"):
            value = try container(
                close: UInt8(ascii: "}"), kind: .object, depth: 0, collecting: true, limit: limit, into: &children)
            collected = true
        case UInt8(ascii: "["):
            value = try container(
                close: UInt8(ascii: "]"), kind: .array, depth: 0, collecting: true, limit: limit, into: &children)
            collected = true
        default:
            value = try self.value(depth: 0)
            collected = false
        }
        skipWhitespace()
        if index < end { throw fail("unexpected data after the JSON value") }
        return (value, collected ? children : nil)
    }

    /// The members of the object `value`, in order, as (decoded key, value).
    func members(of value: Value) throws(Failure) -> Members {
        precondition(value.kind == .object)
        var scanner = JSONScanner(bytes, in: (value.range.lowerBound + 1)..<value.range.upperBound)
        var members: Members = []
        scanner.skipWhitespace()
        if scanner.peek == UInt8(ascii: "}") { return members }
        while true {
            scanner.skipWhitespace()
            let keyValue = try scanner.string()
            let key = try scanner.decodeString(keyValue)
            scanner.skipWhitespace()
            try scanner.expect(UInt8(ascii: ":"))
            scanner.skipWhitespace()
            let member = try scanner.value(depth: 1)
            members.append((key, member))
            scanner.skipWhitespace()
            if scanner.peek == UInt8(ascii: ",") {
                scanner.index += 1
                continue
            }
            return members
        }
    }

    /// The elements of the array `value`, in order.
    func elements(of value: Value) throws(Failure) -> [Value] {
        precondition(value.kind == .array)
        var scanner = JSONScanner(bytes, in: (value.range.lowerBound + 1)..<value.range.upperBound)
        var elements: [Value] = []
        scanner.skipWhitespace()
        if scanner.peek == UInt8(ascii: "]") { return elements }
        while true {
            scanner.skipWhitespace()
            elements.append(try scanner.value(depth: 1))
            scanner.skipWhitespace()
            if scanner.peek == UInt8(ascii: ",") {
                scanner.index += 1
                continue
            }
            return elements
        }
    }

    /// The text of a string value, with escapes resolved.
    func decodeString(_ value: Value) throws(Failure) -> String {
        precondition(value.kind == .string)
        let body = bytes[(value.range.lowerBound + 1)..<(value.range.upperBound - 1)]
        var ascii = true
        var escaped = false
        for byte in body {
            if byte == UInt8(ascii: "\\") {
                escaped = true
                break
            }
            if byte >= 0x80 { ascii = false }
        }
        // ASCII without escapes (ids, types, times, labels: nearly every string) needs no UTF-8 validation.
        if ascii, !escaped { return body.withUnsafeBufferPointer { String(decoding: $0, as: UTF8.self) } }
        guard escaped else {
            guard let text = String(validating: body, as: UTF8.self) else {
                throw Failure(message: "invalid UTF-8 in a string", offset: value.range.lowerBound)
            }
            return text
        }
        var out: [UInt8] = []
        out.reserveCapacity(body.count)
        var i = body.startIndex
        while i < body.endIndex {
            let byte = body[i]
            guard byte == UInt8(ascii: "\\") else {
                out.append(byte)
                i += 1
                continue
            }
            let escape = body[i + 1]
            i += 2
            switch escape {
            case UInt8(ascii: "\""): out.append(UInt8(ascii: "\""))
            case UInt8(ascii: "\\"): out.append(UInt8(ascii: "\\"))
            case UInt8(ascii: "/"): out.append(UInt8(ascii: "/"))
            case UInt8(ascii: "b"): out.append(8)
            case UInt8(ascii: "f"): out.append(12)
            case UInt8(ascii: "n"): out.append(10)
            case UInt8(ascii: "r"): out.append(13)
            case UInt8(ascii: "t"): out.append(9)
            default:  // u, validated by the scan
                var scalar = Self.hex4(body, i)
                i += 4
                if (0xD800..<0xDC00).contains(scalar), i + 6 <= body.endIndex, body[i] == UInt8(ascii: "\\"),
                    body[i + 1] == UInt8(ascii: "u")
                {
                    let low = Self.hex4(body, i + 2)
                    if (0xDC00..<0xE000).contains(low) {
                        scalar = 0x10000 + ((scalar - 0xD800) << 10) + (low - 0xDC00)
                        i += 6
                    }
                }
                let character = Unicode.Scalar(scalar) ?? "\u{FFFD}"
                out.append(contentsOf: Array(String(Character(character)).utf8))
            }
        }
        guard let text = String(validating: out, as: UTF8.self) else {
            throw Failure(message: "invalid UTF-8 in a string", offset: value.range.lowerBound)
        }
        return text
    }

    private static func hex4(_ body: ArraySlice<UInt8>, _ start: Int) -> UInt32 {
        var value: UInt32 = 0
        for byte in body[start..<start + 4] {
            value = value << 4 | UInt32(hexDigit(byte) ?? 0)
        }
        return value
    }

    private static func hexDigit(_ byte: UInt8) -> UInt8? {
        switch byte {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): byte - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): byte - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): byte - UInt8(ascii: "A") + 10
        default: nil
        }
    }

    // MARK: Scanning

    private var peek: UInt8? { index < end ? bytes[index] : nil }

    private func fail(_ message: String) -> Failure {
        Failure(message: index < end ? message : "unexpected end of input", offset: index)
    }

    private mutating func skipWhitespace() {
        while index < end {
            switch bytes[index] {
            case 0x20, 0x0A, 0x0D, 0x09: index += 1
            default: return
            }
        }
    }

    private mutating func expect(_ byte: UInt8) throws(Failure) {
        guard peek == byte else { throw fail("expected '\(Character(Unicode.Scalar(byte)))'") }
        index += 1
    }

    private mutating func value(depth: Int) throws(Failure) -> Value {
        guard let byte = peek else { throw fail("unexpected end of input") }
        switch byte {
        case UInt8(ascii: "{"): return try container(close: UInt8(ascii: "}"), kind: .object, depth: depth)
        case UInt8(ascii: "["): return try container(close: UInt8(ascii: "]"), kind: .array, depth: depth)
        case UInt8(ascii: "\""): return try string()
        case UInt8(ascii: "t"): return try literal("true", kind: .bool)
        case UInt8(ascii: "f"): return try literal("false", kind: .bool)
        case UInt8(ascii: "n"): return try literal("null", kind: .null)
        case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"): return try number()
        default: throw fail("unexpected character '\(Character(Unicode.Scalar(byte)))'")
        }
    }

    private mutating func container(close: UInt8, kind: Kind, depth: Int) throws(Failure) -> Value {
        var none: Members = []
        return try container(close: close, kind: kind, depth: depth, collecting: false, limit: 0, into: &none)
    }

    /// Scans an object or array; with `collecting`, appends its members (decoded names) or elements to `children`,
    /// `limit + 1` of them at most.
    private mutating func container(
        close: UInt8, kind: Kind, depth: Int, collecting: Bool, limit: Int, into children: inout Members
    ) throws(Failure) -> Value {
        guard depth < Self.maxDepth else { throw fail("nesting deeper than \(Self.maxDepth)") }
        let start = index
        index += 1
        skipWhitespace()
        if peek == close {
            index += 1
            return Value(kind: kind, range: start..<index)
        }
        while true {
            skipWhitespace()
            var name = ""
            if kind == .object {
                guard peek == UInt8(ascii: "\"") else { throw fail("expected a member name in quotes") }
                let nameValue = try string()
                if collecting { name = try decodeString(nameValue) }
                skipWhitespace()
                try expect(UInt8(ascii: ":"))
                skipWhitespace()
            }
            let child = try value(depth: depth + 1)
            if collecting, children.count <= limit { children.append((name, child)) }
            skipWhitespace()
            guard let next = peek else { throw fail("unexpected end of input") }
            index += 1
            if next == close { return Value(kind: kind, range: start..<index) }
            guard next == UInt8(ascii: ",") else {
                index -= 1
                throw fail(kind == .object ? "expected ',' or '}'" : "expected ',' or ']'")
            }
            skipWhitespace()
            if peek == close { throw fail("trailing comma") }
        }
    }

    private mutating func string() throws(Failure) -> Value {
        let start = index
        guard peek == UInt8(ascii: "\"") else { throw fail("expected a string") }
        index += 1
        while index < end {
            let byte = bytes[index]
            switch byte {
            case UInt8(ascii: "\""):
                index += 1
                return Value(kind: .string, range: start..<index)
            case UInt8(ascii: "\\"):
                // A backslash as the last byte: before, `break` left the switch without moving on, and the
                // scan spun forever (a 21-byte body held a core).
                guard index + 1 < end else { throw fail("unterminated string") }
                switch bytes[index + 1] {
                case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"), UInt8(ascii: "b"), UInt8(ascii: "f"),
                    UInt8(ascii: "n"), UInt8(ascii: "r"), UInt8(ascii: "t"):
                    index += 2
                case UInt8(ascii: "u"):
                    guard index + 5 < end,
                        bytes[(index + 2)..<(index + 6)].allSatisfy({ Self.hexDigit($0) != nil })
                    else {
                        index += 1
                        throw fail("invalid \\u escape")
                    }
                    index += 6
                default:
                    index += 1
                    throw fail("invalid escape")
                }
            case 0..<0x20:
                throw fail("control character in a string")
            default:
                index += 1
            }
        }
        throw fail("unterminated string")
    }

    private mutating func literal(_ word: StaticString, kind: Kind) throws(Failure) -> Value {
        let start = index
        let count = word.utf8CodeUnitCount
        let matches = word.withUTF8Buffer { expected in
            index + count <= end && bytes[index..<index + count].elementsEqual(expected)
        }
        guard matches else { throw fail("invalid literal") }
        index += count
        return Value(kind: kind, range: start..<index)
    }

    private mutating func number() throws(Failure) -> Value {
        let start = index
        func digits() -> Int {
            let from = index
            while let byte = peek, byte >= UInt8(ascii: "0"), byte <= UInt8(ascii: "9") { index += 1 }
            return index - from
        }
        if peek == UInt8(ascii: "-") { index += 1 }
        if peek == UInt8(ascii: "0") {
            index += 1
        } else if digits() == 0 {
            throw fail("invalid number")
        }
        if peek == UInt8(ascii: ".") {
            index += 1
            guard digits() > 0 else { throw fail("invalid number") }
        }
        if peek == UInt8(ascii: "e") || peek == UInt8(ascii: "E") {
            index += 1
            if peek == UInt8(ascii: "+") || peek == UInt8(ascii: "-") { index += 1 }
            guard digits() > 0 else { throw fail("invalid number") }
        }
        return Value(kind: .number, range: start..<index)
    }
}
