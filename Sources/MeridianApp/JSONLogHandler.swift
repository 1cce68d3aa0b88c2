import Foundation
import Logging
import MeridianCore
import MeridianHTTP
import Synchronization

/// A swift-log handler writing one JSON object per line to standard error.
///
/// Written by hand: none of the available packages has a JSON log handler. Keys, in this order: `ts`
/// (RFC 3339), `level`, `logger`, `msg`, then the metadata sorted by key (for example `request_id`), and
/// `source` for errors. Metadata given as numbers stays numbers.
public struct JSONLogHandler: LogHandler {
    public var metadata: Logger.Metadata = [:]
    public var metadataProvider: Logger.MetadataProvider?
    public var logLevel: Logger.Level
    private let label: String
    private static let output = Mutex(())

    public init(label: String, level: Logger.Level) {
        self.label = label
        self.logLevel = level
    }

    public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    public func log(event: LogEvent) {
        var line = JSONText.Line()
        line.string("ts", Timestamp.format(Date()))
        line.string("level", event.level.rawValue)
        line.string("logger", label)
        line.string("msg", event.message.description)
        var merged = metadata
        if let provided = metadataProvider?.get(), !provided.isEmpty { merged.merge(provided) { _, new in new } }
        if let given = event.metadata { merged.merge(given) { _, new in new } }
        for key in merged.keys.sorted() where !["ts", "level", "logger", "msg"].contains(key) {
            line.value(key, merged[key]!)
        }
        if event.level >= .error { line.string("source", "\(event.file):\(event.line)") }
        var bytes = line.finish()
        bytes.append(UInt8(ascii: "\n"))
        Self.output.withLock { _ in
            bytes.withUnsafeBytes { buffer in
                var written = 0
                while written < buffer.count {
                    let result = write(STDERR_FILENO, buffer.baseAddress! + written, buffer.count - written)
                    if result <= 0 { break }
                    written += result
                }
            }
        }
    }
}

extension JSONText {
    /// One log line: `ts`, `level`, `logger`, `msg` first, in that order, then the fields; numbers stay numbers.
    struct Line {
        private var text = JSONText()

        init() { text.beginObject() }

        mutating func string(_ key: String, _ value: String) { text.field(key, value) }

        mutating func value(_ key: String, _ value: Logger.Metadata.Value) {
            text.raw(key, Self.encode(value))
        }

        mutating func finish() -> [UInt8] {
            text.endObject()
            return text.bytes
        }

        /// A metadata value as JSON: integers and finite numbers given as such are numbers, the rest strings.
        static func encode(_ value: Logger.Metadata.Value) -> [UInt8] {
            var bytes: [UInt8] = []
            switch value {
            case .string(let text):
                JSONText.appendQuoted(text, to: &bytes)
            case .stringConvertible(let convertible):
                switch convertible {
                case let number as any BinaryInteger: bytes = Array(number.description.utf8)
                case let number as Double where number.isFinite: bytes = Array(number.description.utf8)
                case let number as Float where number.isFinite: bytes = Array(number.description.utf8)
                case let flag as Bool: bytes = Array((flag ? "true" : "false").utf8)
                default: JSONText.appendQuoted(convertible.description, to: &bytes)
                }
            case .array(let values):
                bytes.append(UInt8(ascii: "["))
                for (index, element) in values.enumerated() {
                    if index > 0 { bytes.append(UInt8(ascii: ",")) }
                    bytes += encode(element)
                }
                bytes.append(UInt8(ascii: "]"))
            case .dictionary(let values):
                bytes.append(UInt8(ascii: "{"))
                for (index, key) in values.keys.sorted().enumerated() {
                    if index > 0 { bytes.append(UInt8(ascii: ",")) }
                    JSONText.appendQuoted(key, to: &bytes)
                    bytes.append(UInt8(ascii: ":"))
                    bytes += encode(values[key]!)
                }
                bytes.append(UInt8(ascii: "}"))
            }
            return bytes
        }
    }
}

/// Bootstraps swift-log for the process: swift-log's plain text for people, or JSON lines for collectors.
/// `auto` (the default) means text when standard error is a terminal, JSON lines otherwise.
/// `metadataProvider` adds metadata to every line (the current span's `trace_id` and `span_id` with tracing on).
public func bootstrapLogging(format: String, level: String, metadataProvider: Logger.MetadataProvider? = nil) {
    let logLevel = Logger.Level(rawValue: level.lowercased()) ?? .info
    let text = format == "text" || (format == "auto" && isatty(STDERR_FILENO) == 1)
    if text {
        LoggingSystem.bootstrap(
            { label, provider in
                var handler = StreamLogHandler.standardError(label: label, metadataProvider: provider)
                handler.logLevel = logLevel
                return handler
            }, metadataProvider: metadataProvider)
    } else {
        LoggingSystem.bootstrap(
            { label, provider in
                var handler = JSONLogHandler(label: label, level: logLevel)
                handler.metadataProvider = provider
                return handler
            }, metadataProvider: metadataProvider)
    }
}
