import Foundation

/// Why an event or a request body was refused, naming the offending field.
public struct EventDecodingError: Error, Sendable, Hashable, CustomStringConvertible {
    /// The kind of problem, which decides the HTTP status.
    public enum Kind: Sendable, Hashable {
        /// The body is not well-formed JSON (400).
        case malformed
        /// Well-formed, but an attribute is missing or wrong (422).
        case invalid
        /// The event is larger than allowed (413).
        case tooLarge
    }

    public var kind: Kind
    /// The attribute at fault (`type`, `time`, ...), or `nil` for the whole body.
    public var field: String?
    public var detail: String

    public init(_ kind: Kind, field: String?, _ detail: String) {
        self.kind = kind
        self.field = field
        self.detail = detail
    }

    public var description: String {
        if let field { return "\(field): \(detail)" }
        return detail
    }
}

/// The envelope formats the ingestor accepts (CONTRACTS.md).
public enum EnvelopeFormat: Sendable, Hashable {
    /// `application/cloudevents+json`: one structured CloudEvent.
    case cloudEvent
    /// `application/json`: a structured CloudEvent (it has `specversion`) or the legacy shape.
    case json
    /// `application/cloudevents-batch+json` (or a JSON array as `application/json`).
    case batch
    /// `application/x-ndjson`: one event per line.
    case ndjson

    /// The format for a `Content-Type` header value (parameters ignored, any case), or `nil` when unsupported.
    public init?(contentType: String?) {
        guard let contentType else { return nil }
        var mediaType = contentType.utf8.prefix { $0 != UInt8(ascii: ";") }[...]
        while mediaType.first == UInt8(ascii: " ") || mediaType.first == UInt8(ascii: "\t") { mediaType = mediaType.dropFirst() }
        while mediaType.last == UInt8(ascii: " ") || mediaType.last == UInt8(ascii: "\t") { mediaType = mediaType.dropLast() }
        func matches(_ name: StaticString) -> Bool {
            name.withUTF8Buffer { expected in
                expected.count == mediaType.count
                    && zip(expected, mediaType).allSatisfy { $0 == ($1 >= 65 && $1 <= 90 ? $1 + 32 : $1) }
            }
        }
        if matches("application/json") {
            self = .json
        } else if matches("application/cloudevents+json") {
            self = .cloudEvent
        } else if matches("application/cloudevents-batch+json") {
            self = .batch
        } else if matches("application/x-ndjson") || matches("application/ndjson") {
            self = .ndjson
        } else {
            return nil
        }
    }
}

/// Turns request bodies into validated ``CloudEvent``s.
///
/// The rules (both envelope shapes, defaults, limits) are Meridian's contract. Bodies are read with
/// ``JSONScanner``, which validates the JSON and lets `data` travel as the exact bytes the client sent.
public struct EventDecoder: Sendable {
    /// Limits and rules applied to every event.
    public struct Configuration: Sendable {
        /// Largest event accepted, in bytes of its JSON envelope. Default 1 MiB.
        public var maxEventBytes: Int = 1_048_576
        /// Longest id accepted, in characters. Default 256.
        public var maxIDLength: Int = 256
        /// A regular expression every `type` must match in full.
        public var typePattern: String = Self.defaultTypePattern
        /// When not empty, only these types are accepted.
        public var allowedTypes: Set<String> = []
        /// The `source` given to events that carry none (the legacy shape has none).
        public var defaultSource: String = "/meridian/ingestor"

        /// Letters, digits and `._:/-`, starting with a letter or digit, at most 255 characters.
        public static let defaultTypePattern = #"[A-Za-z0-9][A-Za-z0-9._:/-]{0,254}"#

        public init() {}
    }

    public let configuration: Configuration
    private let typeRegex: UncheckedRegex?

    /// Creates a decoder; fails when the type pattern is not a valid regular expression.
    public init(configuration: Configuration = .init()) throws {
        self.configuration = configuration
        // The default pattern is checked by hand: a regular expression per event costs more than the rest.
        self.typeRegex =
            configuration.typePattern == Configuration.defaultTypePattern
            ? nil : try UncheckedRegex(#"\A(?:"# + configuration.typePattern + #")\z"#)
    }

    /// Decodes the body of `POST /events`: exactly one event.
    public func decodeSingle(
        _ body: [UInt8],
        format: EnvelopeFormat,
        receivedAt now: Date
    ) throws(EventDecodingError) -> CloudEvent {
        guard body.count <= configuration.maxEventBytes else {
            throw EventDecodingError(.tooLarge, field: nil, "event of \(body.count) bytes exceeds \(configuration.maxEventBytes)")
        }
        switch format {
        case .cloudEvent, .json:
            let (scanner, document, members) = try Self.parse(body)
            return try decode(
                document, members: members, in: scanner, requireSpecVersion: format == .cloudEvent, receivedAt: now)
        case .batch, .ndjson:
            throw EventDecodingError(.invalid, field: nil, "use POST /events/batch for batches")
        }
    }

    /// Decodes the body of `POST /events/batch`: a JSON array or NDJSON, each item judged on its own.
    ///
    /// - Parameter maxEvents: more events than this is a `tooLarge` error, found before any event is decoded
    ///   (an 8 MiB body of `0,0,0,…` is four million elements).
    /// - Throws: when the body as a whole cannot be read (malformed array, not an array) or holds too many events.
    public func decodeBatch(
        _ body: [UInt8],
        format: EnvelopeFormat,
        receivedAt now: Date,
        maxEvents: Int = .max
    ) throws(EventDecodingError) -> [Result<CloudEvent, EventDecodingError>] {
        let tooMany = EventDecodingError(.tooLarge, field: nil, "a batch holds at most \(maxEvents) events")
        switch format {
        case .batch, .json, .cloudEvent:
            let (scanner, document, elements) = try Self.parse(body, limit: maxEvents)
            guard document.kind == .array, let elements else {
                throw EventDecodingError(.invalid, field: nil, "a batch must be a JSON array of events")
            }
            guard elements.count <= maxEvents else { throw tooMany }
            return elements.map { element in
                let item = element.value
                return Result { () throws(EventDecodingError) -> CloudEvent in
                    guard item.range.count <= configuration.maxEventBytes else {
                        throw EventDecodingError(.tooLarge, field: nil, "event exceeds \(configuration.maxEventBytes) bytes")
                    }
                    return try decode(item, members: nil, in: scanner, requireSpecVersion: format == .batch, receivedAt: now)
                }
            }
        case .ndjson:
            var results: [Result<CloudEvent, EventDecodingError>] = []
            var lineNumber = 0
            var lineStart = 0
            // Line by line in place (no array of lines, no copy of one).
            while lineStart <= body.count {
                let lineEnd = body[lineStart...].firstIndex(of: UInt8(ascii: "\n")) ?? body.count
                let line = body[lineStart..<lineEnd]
                lineStart = lineEnd + 1
                lineNumber += 1
                let trimmed = line.last == UInt8(ascii: "\r") ? line.dropLast() : line[...]
                if trimmed.allSatisfy({ $0 == UInt8(ascii: " ") || $0 == UInt8(ascii: "\t") }) { continue }
                guard results.count < maxEvents else { throw tooMany }
                let number = lineNumber
                results.append(
                    Result { () throws(EventDecodingError) -> CloudEvent in
                        guard trimmed.count <= configuration.maxEventBytes else {
                            throw EventDecodingError(
                                .tooLarge, field: nil, "line \(number): event exceeds \(configuration.maxEventBytes) bytes")
                        }
                        do throws(EventDecodingError) {
                            // The line is read where it lies in the body: no copy per event.
                            let (scanner, document, members) = try Self.parse(body, in: trimmed.indices)
                            return try decode(
                                document, members: members, in: scanner, requireSpecVersion: false, receivedAt: now)
                        } catch {
                            throw EventDecodingError(error.kind, field: error.field, "line \(number): \(error.detail)")
                        }
                    })
            }
            return results
        }
    }

    /// Scans the document in `range` of `body` (all of it by default), once: its value and, for an object or an
    /// array, its members or elements.
    private static func parse(_ body: [UInt8], in range: Range<Int>? = nil, limit: Int = .max) throws(EventDecodingError)
        -> (JSONScanner, JSONScanner.Value, JSONScanner.Members?)
    {
        let range = range ?? body.indices
        guard !range.isEmpty else { throw EventDecodingError(.malformed, field: nil, "the body is empty") }
        var scanner = JSONScanner(body, in: range)
        do {
            let (document, children) = try scanner.documentWithChildren(limit: limit)
            return (scanner, document, children)
        } catch {
            throw EventDecodingError(
                .malformed, field: nil, "malformed JSON at \(scanner.position(of: error.offset)): \(error.message)")
        }
    }

    private static let reservedAttributes: Set<String> = [
        "specversion", "id", "source", "type", "time", "datacontenttype", "data", "data_base64", "dataschema",
        "subject", "partitionkey",
    ]

    /// The attributes of one event object, by name.
    private struct Attributes {
        let scanner: JSONScanner
        /// The members in order; an event has few, so a linear search beats hashing. The last of a
        /// repeated name wins.
        let list: JSONScanner.Members

        subscript(_ name: String) -> JSONScanner.Value? {
            list.last { $0.key == name }?.value
        }

        func has(_ name: String) -> Bool { self[name] != nil }

        /// A string attribute; `nil` when absent or JSON null.
        func string(_ name: String) throws(EventDecodingError) -> String? {
            guard let value = self[name], value.kind != .null else { return nil }
            guard value.kind == .string else { throw EventDecodingError(.invalid, field: name, "must be a string") }
            return try text(value, field: name)
        }

        func text(_ value: JSONScanner.Value, field: String) throws(EventDecodingError) -> String {
            do {
                return try scanner.decodeString(value)
            } catch {
                throw EventDecodingError(.invalid, field: field, error.message)
            }
        }

        /// The value's bytes as sent.
        func raw(_ value: JSONScanner.Value) -> ArraySlice<UInt8> { scanner.bytes[value.range] }
    }

    /// Validates one event object of either shape.
    /// - Parameter members: the object's members when the scan that found it read them already.
    private func decode(
        _ value: JSONScanner.Value,
        members: JSONScanner.Members?,
        in scanner: JSONScanner,
        requireSpecVersion: Bool,
        receivedAt now: Date
    ) throws(EventDecodingError) -> CloudEvent {
        guard value.kind == .object else {
            throw EventDecodingError(.invalid, field: nil, "an event must be a JSON object")
        }
        var list = members ?? []
        if members == nil {
            do {
                list = try scanner.members(of: value)
            } catch {
                throw EventDecodingError(.malformed, field: nil, "malformed JSON: \(error.message)")
            }
        }
        let object = Attributes(scanner: scanner, list: list)
        let isCloudEvent = requireSpecVersion || object.has("specversion")
        if isCloudEvent {
            guard object.has("specversion") else {
                throw EventDecodingError(.invalid, field: "specversion", "is required")
            }
            guard (try? object.string("specversion")) == CloudEvent.specVersion else {
                throw EventDecodingError(.invalid, field: "specversion", "must be \"1.0\"")
            }
        }
        let suppliedID = try object.string("id")
        let id = suppliedID ?? RandomID.uuidString()
        if id.isEmpty { throw EventDecodingError(.invalid, field: "id", "must not be empty") }
        // Counting characters walks grapheme clusters: only when the bytes alone could be too many.
        if id.utf8.count > configuration.maxIDLength, id.count > configuration.maxIDLength {
            throw EventDecodingError(.invalid, field: "id", "is longer than \(configuration.maxIDLength) characters")
        }
        guard let type = try object.string("type") else {
            throw EventDecodingError(.invalid, field: "type", "is required")
        }
        if type.isEmpty { throw EventDecodingError(.invalid, field: "type", "must not be empty") }
        if !configuration.allowedTypes.isEmpty, !configuration.allowedTypes.contains(type) {
            throw EventDecodingError(.invalid, field: "type", "'\(type)' is not an allowed event type")
        }
        if !(typeRegex?.matches(type) ?? Self.matchesDefaultTypePattern(type)) {
            throw EventDecodingError(
                .invalid, field: "type", "'\(type)' does not match the pattern \(configuration.typePattern)")
        }
        let source = try object.string("source") ?? configuration.defaultSource
        if source.isEmpty { throw EventDecodingError(.invalid, field: "source", "must not be empty") }

        let timeField = isCloudEvent ? "time" : "timestamp"
        let time = try parseTime(object, field: timeField, allowUnixTime: !isCloudEvent) ?? now

        var contentType = try object.string("datacontenttype") ?? "application/json"
        let data: [UInt8]
        if isCloudEvent, let encoded = object["data_base64"] {
            guard encoded.kind == .string, let bytes = Data(base64Encoded: try object.text(encoded, field: "data_base64"))
            else {
                throw EventDecodingError(.invalid, field: "data_base64", "must be base64 text")
            }
            if object.has("data") {
                throw EventDecodingError(.invalid, field: "data", "must not be given together with data_base64")
            }
            data = Array(bytes)
            if !object.has("datacontenttype") { contentType = "application/octet-stream" }
        } else {
            let field = isCloudEvent ? "data" : "payload"
            switch object[field] {
            case nil:
                data = []
            case let payload? where payload.kind == .null:
                data = []
            case let payload? where payload.kind == .string && !contentType.lowercased().contains("json"):
                data = Array(try object.text(payload, field: field).utf8)
            case let payload?:
                data = Array(object.raw(payload))
            }
        }

        var partitionKey: String?
        var extensions: [String: String] = [:]
        if isCloudEvent {
            partitionKey = try object.string("partitionkey")
            var seen: Set<String> = []
            for (name, value) in object.list.reversed()
            where !Self.reservedAttributes.contains(name) && seen.insert(name).inserted {
                guard Self.isValidExtensionName(name) else {
                    throw EventDecodingError(
                        .invalid, field: name, "extension names are lower-case letters and digits, at most 20")
                }
                extensions[name] = try Self.attributeText(value, object: object, field: name)
            }
            for name in ["dataschema", "subject"] {
                if let value = object[name] { extensions[name] = try Self.attributeText(value, object: object, field: name) }
            }
        }
        var event = CloudEvent(
            id: id,
            source: source,
            type: type,
            time: time,
            dataContentType: contentType,
            data: data,
            partitionKey: partitionKey,
            extensions: extensions
        )
        event.hasGeneratedID = suppliedID == nil
        return event
    }

    private func parseTime(_ object: Attributes, field: String, allowUnixTime: Bool) throws(EventDecodingError) -> Date? {
        guard let value = object[field], value.kind != .null else { return nil }
        if value.kind == .string {
            let text = try object.text(value, field: field)
            guard let date = Timestamp.parse(text) else {
                throw EventDecodingError(.invalid, field: field, "'\(text)' is not an RFC 3339 timestamp")
            }
            return date
        }
        if allowUnixTime, value.kind == .number {
            // Legacy clients send Unix time, in seconds or milliseconds.
            guard let raw = Double(String(decoding: object.raw(value), as: UTF8.self)), raw.isFinite, raw >= 0 else {
                throw EventDecodingError(.invalid, field: field, "must be a positive Unix time")
            }
            let seconds = raw > 100_000_000_000 ? raw / 1000 : raw
            // RFC 3339 ends with year 9999 (a larger number once trapped the timestamp's formatting and killed
            // the process).
            guard seconds <= Self.latestUnixTime else {
                throw EventDecodingError(.invalid, field: field, "must be a Unix time before the year 10000")
            }
            return Date(timeIntervalSince1970: seconds)
        }
        throw EventDecodingError(.invalid, field: field, "must be an RFC 3339 timestamp")
    }

    /// 9999-12-31T23:59:59Z, the last second RFC 3339 can write.
    static let latestUnixTime: Double = 253_402_300_799

    /// The default type rule, checked without a regular expression.
    static func matchesDefaultTypePattern(_ type: String) -> Bool {
        let utf8 = type.utf8
        guard let first = utf8.first, utf8.count <= 255, isAlphanumeric(first) else { return false }
        return utf8.allSatisfy { byte in
            isAlphanumeric(byte) || byte == UInt8(ascii: ".") || byte == UInt8(ascii: "_") || byte == UInt8(ascii: ":")
                || byte == UInt8(ascii: "/") || byte == UInt8(ascii: "-")
        }
    }

    private static func isAlphanumeric(_ byte: UInt8) -> Bool {
        (byte >= UInt8(ascii: "a") && byte <= UInt8(ascii: "z")) || (byte >= UInt8(ascii: "A") && byte <= UInt8(ascii: "Z"))
            || (byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9"))
    }

    private static func isValidExtensionName(_ name: String) -> Bool {
        !name.isEmpty && name.utf8.count <= 20
            && name.utf8.allSatisfy { ($0 >= UInt8(ascii: "a") && $0 <= UInt8(ascii: "z")) || ($0 >= 48 && $0 <= 57) }
    }

    private static func attributeText(_ value: JSONScanner.Value, object: Attributes, field: String) throws(EventDecodingError)
        -> String
    {
        switch value.kind {
        case .string: return try object.text(value, field: field)
        case .number, .bool: return String(decoding: object.raw(value), as: UTF8.self)
        default: throw EventDecodingError(.invalid, field: field, "must be a string, number or boolean")
        }
    }
}

/// `NSRegularExpression` is documented as safe to use from several threads; this box says so to Swift.
struct UncheckedRegex: @unchecked Sendable {
    private let regex: NSRegularExpression

    init(_ pattern: String) throws {
        regex = try NSRegularExpression(pattern: pattern)
    }

    func matches(_ text: String) -> Bool {
        regex.firstMatch(in: text, range: NSRange(text.startIndex..., in: text)) != nil
    }
}
