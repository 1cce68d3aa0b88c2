import Foundation
import Synchronization

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
    /// True when the ingestor made the id because the client sent none: such an event cannot be a
    /// client's retry, so the duplicate window does not need to remember it.
    public var hasGeneratedID = false

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
    ///
    /// Written by hand (days to civil date, Hinnant's algorithm): it runs for every event, and Foundation's
    /// format styles cost several times more. Years outside 0001...9999 fall back to Foundation.
    public static func format(_ date: Date) -> String {
        // Round to the millisecond first: a Double's fraction can otherwise floor .678 to .677. A date beyond
        // Int64 milliseconds (or not finite) would trap the conversion: such dates are clamped (decoders refuse
        // them first; this keeps the function total).
        let limit = 1e15  // seconds, about 31 million years
        let interval = date.timeIntervalSince1970
        guard interval.isFinite, abs(interval) < limit else {
            return interval < 0 ? "0001-01-01T00:00:00.000Z" : "9999-12-31T23:59:59.999Z"
        }
        let milliseconds = Int64((interval * 1000).rounded())
        var (seconds, millis) = milliseconds.quotientAndRemainder(dividingBy: 1000)
        if millis < 0 {
            seconds -= 1
            millis += 1000
        }
        var (days, secondOfDay) = seconds.quotientAndRemainder(dividingBy: 86_400)
        if secondOfDay < 0 {
            days -= 1
            secondOfDay += 86_400
        }
        let z = days + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let dayOfEra = z - era * 146_097
        let yearOfEra = (dayOfEra - dayOfEra / 1460 + dayOfEra / 36_524 - dayOfEra / 146_096) / 365
        let dayOfYear = dayOfEra - (365 * yearOfEra + yearOfEra / 4 - yearOfEra / 100)
        let monthIndex = (5 * dayOfYear + 2) / 153
        let day = dayOfYear - (153 * monthIndex + 2) / 5 + 1
        let month = monthIndex < 10 ? monthIndex + 3 : monthIndex - 9
        let year = yearOfEra + era * 400 + (month <= 2 ? 1 : 0)
        guard (1...9999).contains(year) else { return withFraction.format(date) }

        return String(unsafeUninitializedCapacity: 24) { text in
            func put(_ value: Int64, at offset: Int, digits: Int) {
                var value = value
                for position in stride(from: offset + digits - 1, through: offset, by: -1) {
                    text[position] = UInt8(ascii: "0") + UInt8(value % 10)
                    value /= 10
                }
            }
            put(year, at: 0, digits: 4)
            text[4] = UInt8(ascii: "-")
            put(month, at: 5, digits: 2)
            text[7] = UInt8(ascii: "-")
            put(day, at: 8, digits: 2)
            text[10] = UInt8(ascii: "T")
            put(secondOfDay / 3600, at: 11, digits: 2)
            text[13] = UInt8(ascii: ":")
            put(secondOfDay / 60 % 60, at: 14, digits: 2)
            text[16] = UInt8(ascii: ":")
            put(secondOfDay % 60, at: 17, digits: 2)
            text[19] = UInt8(ascii: ".")
            put(millis, at: 20, digits: 3)
            text[23] = UInt8(ascii: "Z")
            return 24
        }
    }

    /// Parses an RFC 3339 timestamp with or without fractional seconds and with any UTC offset.
    ///
    /// The strict form every client sends (`2026-01-02T03:04:05[.fraction](Z|±hh:mm)`, fields in range, at most 9
    /// digits of fraction, years from 1600: before, Foundation's calendar is Julian; offsets up to 14 hours, as
    /// real zones have) is read by hand, Foundation's format style costing several times more for every event;
    /// anything else is left to Foundation, so what is accepted does not change.
    public static func parse(_ text: String) -> Date? {
        guard text.utf8.count >= 20, text.utf8.count <= 40 else { return nil }
        if let date = strict(text) { return date }
        if let date = try? withFraction.parse(text) { return date }
        return try? withoutFraction.parse(text)
    }

    /// The strict form, or nil (the caller then asks Foundation).
    static func strict(_ text: String) -> Date? {
        var text = text
        return text.withUTF8 { bytes -> Date? in
            guard bytes.count >= 20 else { return nil }
            func digits(_ start: Int, _ count: Int) -> Int64? {
                guard start + count <= bytes.count else { return nil }
                var value: Int64 = 0
                for index in start..<(start + count) {
                    let digit = bytes[index] &- UInt8(ascii: "0")
                    guard digit < 10 else { return nil }
                    value = value * 10 + Int64(digit)
                }
                return value
            }
            guard bytes[4] == UInt8(ascii: "-"), bytes[7] == UInt8(ascii: "-"), bytes[10] == UInt8(ascii: "T"),
                bytes[13] == UInt8(ascii: ":"), bytes[16] == UInt8(ascii: ":"),
                let year = digits(0, 4), let month = digits(5, 2), let day = digits(8, 2), let hour = digits(11, 2),
                let minute = digits(14, 2), let second = digits(17, 2),
                (1600...9999).contains(year), (1...12).contains(month), hour < 24, minute < 60, second < 60
            else { return nil }
            let leap = year % 4 == 0 && (year % 100 != 0 || year % 400 == 0)
            let lengths: [Int64] = [31, leap ? 29 : 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31]
            guard day >= 1, day <= lengths[Int(month - 1)] else { return nil }
            var index = 19
            var fraction: Int64 = 0
            var scale: Int64 = 1
            if index < bytes.count, bytes[index] == UInt8(ascii: ".") {
                index += 1
                let start = index
                while index < bytes.count, bytes[index] &- UInt8(ascii: "0") < 10 {
                    guard index - start < 9 else { return nil }
                    fraction = fraction * 10 + Int64(bytes[index] - UInt8(ascii: "0"))
                    scale *= 10
                    index += 1
                }
                guard index > start else { return nil }
            }
            guard index < bytes.count else { return nil }
            var offset: Int64 = 0
            switch bytes[index] {
            case UInt8(ascii: "Z"):
                guard index + 1 == bytes.count else { return nil }
            case UInt8(ascii: "+"), UInt8(ascii: "-"):
                guard index + 6 == bytes.count, bytes[index + 3] == UInt8(ascii: ":"),
                    let hours = digits(index + 1, 2), let minutes = digits(index + 4, 2), hours <= 14, minutes < 60
                else { return nil }
                offset = (hours * 60 + minutes) * 60 * (bytes[index] == UInt8(ascii: "+") ? 1 : -1)
            default:
                return nil
            }
            // Days since 1970 of a civil date (Hinnant's algorithm).
            let y = month <= 2 ? year - 1 : year
            let era = y / 400
            let yearOfEra = y - era * 400
            let dayOfYear = (153 * (month > 2 ? month - 3 : month + 9) + 2) / 5 + day - 1
            let dayOfEra = yearOfEra * 365 + yearOfEra / 4 - yearOfEra / 100 + dayOfYear
            let days = era * 146_097 + dayOfEra - 719_468
            let seconds = days * 86_400 + hour * 3600 + minute * 60 + second - offset
            return Date(timeIntervalSince1970: Double(seconds) + Double(fraction) / Double(scale))
        }
    }
}

/// Random (version 4) UUIDs as lower-case text.
///
/// Written by hand: Foundation's `UUID()` opens `/dev/urandom` for every id on Linux, and
/// `SystemRandomNumberGenerator` makes one `getrandom` call per 8 bytes; the ingestor makes an id for every
/// event that comes without one (hundreds of thousands a second), so the bytes come from the kernel's CSPRNG
/// (`/dev/urandom`, kept open) 4 KiB at a time, and the text is written in place (one allocation per id).
public enum RandomID {
    private struct Pool {
        var bytes = [UInt8](repeating: 0, count: 4096)
        var used = 4096
    }

    private static let pool = Mutex(Pool())
    /// The kernel's CSPRNG, opened once; -1 when it cannot be (then the standard library's generator serves).
    private static let urandom = open("/dev/urandom", O_RDONLY | O_CLOEXEC)

    /// 16 random bytes as two words.
    private static func next() -> (UInt64, UInt64) {
        pool.withLock { pool in
            if pool.used + 16 > pool.bytes.count {
                pool.bytes.withUnsafeMutableBytes { buffer in
                    var generator = SystemRandomNumberGenerator()
                    var filled = 0
                    while filled < buffer.count {
                        let got = urandom >= 0 ? read(urandom, buffer.baseAddress! + filled, buffer.count - filled) : -1
                        if got > 0 {
                            filled += got
                        } else if got == 0 || errno != EINTR {
                            while filled + 8 <= buffer.count {
                                buffer.storeBytes(of: generator.next() as UInt64, toByteOffset: filled, as: UInt64.self)
                                filled += 8
                            }
                        }
                    }
                }
                pool.used = 0
            }
            defer { pool.used += 16 }
            return pool.bytes.withUnsafeBytes { buffer in
                (
                    buffer.loadUnaligned(fromByteOffset: pool.used, as: UInt64.self),
                    buffer.loadUnaligned(fromByteOffset: pool.used + 8, as: UInt64.self)
                )
            }
        }
    }

    public static func uuidString() -> String {
        var (high, low) = next()
        high = (high & ~0xF000) | 0x4000  // version 4
        low = (low & ~(0xC000 << 48)) | (0x8000 << 48)  // variant 10
        return String(unsafeUninitializedCapacity: 36) { text in
            var position = 0
            func put(_ word: UInt64) {
                for nibble in 0..<16 {
                    if position == 8 || position == 13 || position == 18 || position == 23 {
                        text[position] = UInt8(ascii: "-")
                        position += 1
                    }
                    let digit = UInt8((word >> UInt64(60 - 4 * nibble)) & 0xF)
                    text[position] = digit < 10 ? UInt8(ascii: "0") + digit : UInt8(ascii: "a") + digit - 10
                    position += 1
                }
            }
            put(high)
            put(low)
            return 36
        }
    }
}
