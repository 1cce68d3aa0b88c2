import Foundation

/// A CloudEvents 1.0 event as Meridian carries it: attributes plus the `data` bytes.
///
/// On the event log an event travels in binary content mode (CONTRACTS.md): the record value is
/// ``data`` and the attributes are `ce_*` headers.
public struct CloudEvent: Sendable, Hashable {
    /// The event id; unique per ``source``.
    public var id: String
    /// The event source, a URI reference.
    public var source: String
    /// The event type, for example `page.viewed`.
    public var type: String
    /// The event time in UTC.
    public var time: Date
    /// The media type of ``data``.
    public var dataContentType: String
    /// The event payload bytes.
    public var data: [UInt8]
    /// The `partitionkey` extension, when the producer set one.
    public var partitionKey: String?
    /// Other extension attributes, carried as `ce_<name>` headers.
    public var extensions: [String: String]

    public init(
        id: String,
        source: String,
        type: String,
        time: Date,
        dataContentType: String = "application/json",
        data: [UInt8],
        partitionKey: String? = nil,
        extensions: [String: String] = [:]
    ) {
        self.id = id
        self.source = source
        self.type = type
        self.time = time
        self.dataContentType = dataContentType
        self.data = data
        self.partitionKey = partitionKey
        self.extensions = extensions
    }

    /// The CloudEvents spec version Meridian speaks.
    public static let specVersion = "1.0"

    /// The record for this event in binary content mode.
    ///
    /// - Parameters:
    ///   - topic: The destination topic.
    ///   - aggregateID: The aggregate id used as key when no `partitionkey` is set.
    ///   - traceparent: The W3C `traceparent` of the request that carried the event, if any.
    public func record(topic: String, aggregateID: String? = nil, traceparent: String? = nil) -> EventRecord {
        var headers: [EventHeader] = [
            EventHeader("ce_specversion", Self.specVersion),
            EventHeader("ce_id", id),
            EventHeader("ce_source", source),
            EventHeader("ce_type", type),
            EventHeader("ce_time", Timestamp.format(time)),
            EventHeader("content-type", dataContentType),
        ]
        if let partitionKey {
            headers.append(EventHeader("ce_partitionkey", partitionKey))
        }
        for (name, value) in extensions.sorted(by: { $0.key < $1.key }) {
            headers.append(EventHeader("ce_\(name)", value))
        }
        if let traceparent {
            headers.append(EventHeader("traceparent", traceparent))
        }
        let key = partitionKey ?? aggregateID ?? id
        return EventRecord(topic: topic, key: Array(key.utf8), value: data, headers: headers)
    }

    /// Rebuilds an event from a record written in binary content mode, or `nil` if it lacks the attributes.
    public init?(record: ConsumedRecord) {
        guard let id = record.header("ce_id"), let source = record.header("ce_source"),
            let type = record.header("ce_type")
        else { return nil }
        var extensions: [String: String] = [:]
        for header in record.headers where header.name.hasPrefix("ce_") {
            let name = String(header.name.dropFirst(3))
            if !["specversion", "id", "source", "type", "time", "partitionkey"].contains(name) {
                extensions[name] = header.stringValue
            }
        }
        self.init(
            id: id,
            source: source,
            type: type,
            time: record.header("ce_time").flatMap(Timestamp.parse) ?? record.timestamp,
            dataContentType: record.header("content-type") ?? "application/json",
            data: record.value,
            partitionKey: record.header("ce_partitionkey"),
            extensions: extensions
        )
    }
}

/// RFC 3339 timestamps in UTC with milliseconds, as CONTRACTS.md requires.
public enum Timestamp {
    private static let withFraction = Date.ISO8601FormatStyle(includingFractionalSeconds: true)
    private static let withoutFraction = Date.ISO8601FormatStyle()

    /// Formats a date as `2026-01-02T03:04:05.678Z`.
    public static func format(_ date: Date) -> String {
        // Round to the millisecond first: formatting a Double's fraction directly can floor .678 to .677.
        let milliseconds = Int64((date.timeIntervalSince1970 * 1000).rounded())
        let (seconds, fraction) = milliseconds.quotientAndRemainder(dividingBy: 1000)
        let (wholeSeconds, millis) = fraction < 0 ? (seconds - 1, fraction + 1000) : (seconds, fraction)
        let base = withoutFraction.format(Date(timeIntervalSince1970: Double(wholeSeconds)))
        let digits = String(millis)
        return base.dropLast() + "." + String(repeating: "0", count: 3 - digits.count) + digits + "Z"
    }

    /// Parses an RFC 3339 timestamp with or without fractional seconds and with any UTC offset.
    public static func parse(_ text: String) -> Date? {
        guard text.count >= 20, text.count <= 40 else { return nil }
        if let date = try? withFraction.parse(text) { return date }
        return try? withoutFraction.parse(text)
    }
}
