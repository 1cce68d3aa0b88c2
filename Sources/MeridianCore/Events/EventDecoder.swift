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

    /// The format for a `Content-Type` header value, or `nil` when unsupported.
    public init?(contentType: String?) {
        guard let contentType else { return nil }
        let mediaType = contentType.split(separator: ";", maxSplits: 1).first.map {
            $0.trimmingCharacters(in: .whitespaces).lowercased()
        }
        switch mediaType {
        case "application/cloudevents+json": self = .cloudEvent
        case "application/json": self = .json
        case "application/cloudevents-batch+json": self = .batch
        case "application/x-ndjson", "application/ndjson": self = .ndjson
        default: return nil
        }
    }
}

/// Turns request bodies into validated ``CloudEvent``s.
///
/// Parsing uses Foundation's `JSONSerialization`; the rules (both envelope shapes, defaults, limits)
/// are Meridian's contract and are written here.
public struct EventDecoder: Sendable {
    /// Limits and rules applied to every event.
    public struct Configuration: Sendable {
        /// Largest event accepted, in bytes of its JSON envelope. Default 1 MiB.
        public var maxEventBytes: Int = 1_048_576
        /// Longest id accepted, in characters. Default 256.
        public var maxIDLength: Int = 256
        /// A regular expression every `type` must match in full.
        public var typePattern: String = #"[A-Za-z0-9][A-Za-z0-9._:/-]{0,254}"#
        /// When not empty, only these types are accepted.
        public var allowedTypes: Set<String> = []
        /// The `source` given to events that carry none (the legacy shape has none).
        public var defaultSource: String = "/meridian/ingestor"

        public init() {}
    }

    public let configuration: Configuration
    private let typeRegex: UncheckedRegex

    /// Creates a decoder; fails when the type pattern is not a valid regular expression.
    public init(configuration: Configuration = .init()) throws {
        self.configuration = configuration
        self.typeRegex = try UncheckedRegex("^(?:" + configuration.typePattern + ")$")
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
            let object = try Self.parseJSON(body)
            return try decode(object, requireSpecVersion: format == .cloudEvent, receivedAt: now)
        case .batch, .ndjson:
            throw EventDecodingError(.invalid, field: nil, "use POST /events/batch for batches")
        }
    }

    /// Decodes the body of `POST /events/batch`: a JSON array or NDJSON, each item judged on its own.
    ///
    /// - Throws: when the body as a whole cannot be read (malformed array, not an array).
    public func decodeBatch(
        _ body: [UInt8],
        format: EnvelopeFormat,
        receivedAt now: Date
    ) throws(EventDecodingError) -> [Result<CloudEvent, EventDecodingError>] {
        switch format {
        case .batch, .json, .cloudEvent:
            let parsed = try Self.parseJSON(body)
            guard let items = parsed as? [Any] else {
                throw EventDecodingError(.invalid, field: nil, "a batch must be a JSON array of events")
            }
            return items.enumerated().map { index, item in
                Result { () throws(EventDecodingError) -> CloudEvent in
                    try checkItemSize(item, index: index)
                    return try decode(item, requireSpecVersion: format == .batch, receivedAt: now)
                }
            }
        case .ndjson:
            var results: [Result<CloudEvent, EventDecodingError>] = []
            var lineNumber = 0
            for line in body.split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: false) {
                lineNumber += 1
                let trimmed = line.last == UInt8(ascii: "\r") ? line.dropLast() : line[...]
                if trimmed.allSatisfy({ $0 == UInt8(ascii: " ") || $0 == UInt8(ascii: "\t") }) { continue }
                let number = lineNumber
                results.append(
                    Result { () throws(EventDecodingError) -> CloudEvent in
                        guard trimmed.count <= configuration.maxEventBytes else {
                            throw EventDecodingError(
                                .tooLarge, field: nil, "line \(number): event exceeds \(configuration.maxEventBytes) bytes")
                        }
                        do throws(EventDecodingError) {
                            return try decode(Self.parseJSON(Array(trimmed)), requireSpecVersion: false, receivedAt: now)
                        } catch {
                            throw EventDecodingError(error.kind, field: error.field, "line \(number): \(error.detail)")
                        }
                    })
            }
            return results
        }
    }

    private func checkItemSize(_ item: Any, index: Int) throws(EventDecodingError) {
        guard JSONSerialization.isValidJSONObject(item),
            let data = try? JSONSerialization.data(withJSONObject: item)
        else { return }
        if data.count > configuration.maxEventBytes {
            throw EventDecodingError(.tooLarge, field: nil, "event exceeds \(configuration.maxEventBytes) bytes")
        }
    }

    private static func parseJSON(_ body: [UInt8]) throws(EventDecodingError) -> Any {
        guard !body.isEmpty else { throw EventDecodingError(.malformed, field: nil, "the body is empty") }
        do {
            return try JSONSerialization.jsonObject(with: Data(body), options: [.fragmentsAllowed])
        } catch {
            let debug = (error as NSError).userInfo[NSDebugDescriptionErrorKey] as? String
            throw EventDecodingError(.malformed, field: nil, "malformed JSON: \(debug ?? "\(error)")")
        }
    }

    private static let reservedAttributes: Set<String> = [
        "specversion", "id", "source", "type", "time", "datacontenttype", "data", "data_base64", "dataschema",
        "subject", "partitionkey",
    ]

    /// Validates one parsed event object of either shape.
    func decode(_ parsed: Any, requireSpecVersion: Bool, receivedAt now: Date) throws(EventDecodingError) -> CloudEvent {
        guard let object = parsed as? [String: Any] else {
            throw EventDecodingError(.invalid, field: nil, "an event must be a JSON object")
        }
        let isCloudEvent = requireSpecVersion || object["specversion"] != nil
        if isCloudEvent {
            guard let version = object["specversion"] else {
                throw EventDecodingError(.invalid, field: "specversion", "is required")
            }
            guard let text = version as? String, text == CloudEvent.specVersion else {
                throw EventDecodingError(.invalid, field: "specversion", "must be \"1.0\"")
            }
        }
        let id = try optionalString(object, "id") ?? UUID().uuidString.lowercased()
        if id.isEmpty { throw EventDecodingError(.invalid, field: "id", "must not be empty") }
        if id.count > configuration.maxIDLength {
            throw EventDecodingError(.invalid, field: "id", "is longer than \(configuration.maxIDLength) characters")
        }
        guard let type = try optionalString(object, "type") else {
            throw EventDecodingError(.invalid, field: "type", "is required")
        }
        if type.isEmpty { throw EventDecodingError(.invalid, field: "type", "must not be empty") }
        if !configuration.allowedTypes.isEmpty, !configuration.allowedTypes.contains(type) {
            throw EventDecodingError(.invalid, field: "type", "'\(type)' is not an allowed event type")
        }
        if !typeRegex.matches(type) {
            throw EventDecodingError(
                .invalid, field: "type", "'\(type)' does not match the pattern \(configuration.typePattern)")
        }
        let source = try optionalString(object, "source") ?? configuration.defaultSource
        if source.isEmpty { throw EventDecodingError(.invalid, field: "source", "must not be empty") }

        let timeField = isCloudEvent ? "time" : "timestamp"
        let time = try parseTime(object[timeField], field: timeField) ?? now

        var contentType = try optionalString(object, "datacontenttype") ?? "application/json"
        let data: [UInt8]
        if isCloudEvent, let encoded = object["data_base64"] {
            guard let text = encoded as? String, let bytes = Data(base64Encoded: text) else {
                throw EventDecodingError(.invalid, field: "data_base64", "must be base64 text")
            }
            if object["data"] != nil {
                throw EventDecodingError(.invalid, field: "data", "must not be given together with data_base64")
            }
            data = Array(bytes)
            if object["datacontenttype"] == nil { contentType = "application/octet-stream" }
        } else {
            let payload = object[isCloudEvent ? "data" : "payload"]
            data = try Self.encodeData(payload, contentType: contentType, field: isCloudEvent ? "data" : "payload")
        }

        var partitionKey: String?
        var extensions: [String: String] = [:]
        if isCloudEvent {
            partitionKey = try optionalString(object, "partitionkey")
            for (name, value) in object where !Self.reservedAttributes.contains(name) {
                guard Self.isValidExtensionName(name) else {
                    throw EventDecodingError(
                        .invalid, field: name, "extension names are lower-case letters and digits, at most 20")
                }
                extensions[name] = try Self.attributeText(value, field: name)
            }
            for name in ["dataschema", "subject"] {
                if let value = object[name] { extensions[name] = try Self.attributeText(value, field: name) }
            }
        }
        return CloudEvent(
            id: id,
            source: source,
            type: type,
            time: time,
            dataContentType: contentType,
            data: data,
            partitionKey: partitionKey,
            extensions: extensions
        )
    }

    private func optionalString(_ object: [String: Any], _ field: String) throws(EventDecodingError) -> String? {
        guard let value = object[field], !(value is NSNull) else { return nil }
        guard let text = value as? String else {
            throw EventDecodingError(.invalid, field: field, "must be a string")
        }
        return text
    }

    private func parseTime(_ value: Any?, field: String) throws(EventDecodingError) -> Date? {
        guard let value, !(value is NSNull) else { return nil }
        if let text = value as? String {
            guard let date = Timestamp.parse(text) else {
                throw EventDecodingError(.invalid, field: field, "'\(text)' is not an RFC 3339 timestamp")
            }
            return date
        }
        if !isCloudEvent(field), let number = value as? NSNumber, !(value is Bool) {
            // Legacy clients send Unix time, in seconds or milliseconds.
            let raw = number.doubleValue
            guard raw.isFinite, raw >= 0 else {
                throw EventDecodingError(.invalid, field: field, "must be a positive Unix time")
            }
            return Date(timeIntervalSince1970: raw > 100_000_000_000 ? raw / 1000 : raw)
        }
        throw EventDecodingError(.invalid, field: field, "must be an RFC 3339 timestamp")
    }

    private func isCloudEvent(_ timeField: String) -> Bool { timeField == "time" }

    private static func encodeData(_ payload: Any?, contentType: String, field: String) throws(EventDecodingError)
        -> [UInt8]
    {
        guard let payload, !(payload is NSNull) else { return [] }
        if let text = payload as? String, !contentType.lowercased().contains("json") {
            return Array(text.utf8)
        }
        do {
            return Array(
                try JSONSerialization.data(withJSONObject: payload, options: [.fragmentsAllowed, .withoutEscapingSlashes]))
        } catch {
            throw EventDecodingError(.invalid, field: field, "cannot be encoded as JSON")
        }
    }

    private static func isValidExtensionName(_ name: String) -> Bool {
        !name.isEmpty && name.utf8.count <= 20
            && name.utf8.allSatisfy { ($0 >= UInt8(ascii: "a") && $0 <= UInt8(ascii: "z")) || ($0 >= 48 && $0 <= 57) }
    }

    private static func attributeText(_ value: Any, field: String) throws(EventDecodingError) -> String {
        if let text = value as? String { return text }
        if let number = value as? NSNumber { return number.stringValue }
        throw EventDecodingError(.invalid, field: field, "must be a string, number or boolean")
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
