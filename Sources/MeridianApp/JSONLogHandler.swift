import Foundation
import Logging
import MeridianCore
import Synchronization

/// A swift-log handler writing one JSON object per line to standard error.
///
/// Written by hand: none of the available packages has a JSON log handler. Keys: `ts` (RFC 3339),
/// `level`, `logger`, `msg`, then the metadata (for example `request_id`).
public struct JSONLogHandler: LogHandler {
    public var metadata: Logger.Metadata = [:]
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
        var object: [String: Any] = [
            "ts": Timestamp.format(Date()),
            "level": event.level.rawValue,
            "logger": label,
            "msg": event.message.description,
        ]
        let merged = metadata.merging(event.metadata ?? [:]) { _, new in new }
        for (key, value) in merged { object[key] = Self.json(value) }
        if event.level >= .error { object["source"] = "\(event.file):\(event.line)" }
        guard
            var line = try? JSONSerialization.data(
                withJSONObject: object, options: [.sortedKeys, .withoutEscapingSlashes])
        else { return }
        line.append(UInt8(ascii: "\n"))
        Self.output.withLock { _ in
            line.withUnsafeBytes { buffer in
                var written = 0
                while written < buffer.count {
                    let result = write(STDERR_FILENO, buffer.baseAddress! + written, buffer.count - written)
                    if result <= 0 { break }
                    written += result
                }
            }
        }
    }

    private static func json(_ value: Logger.Metadata.Value) -> Any {
        switch value {
        case .string(let text): return text
        case .stringConvertible(let convertible): return convertible.description
        case .array(let values): return values.map(json)
        case .dictionary(let values): return values.mapValues(json)
        }
    }
}

/// Bootstraps swift-log for the process: JSON lines (the default) or swift-log's plain text.
public func bootstrapLogging(format: String, level: String) {
    let logLevel = Logger.Level(rawValue: level.lowercased()) ?? .info
    if format == "text" {
        LoggingSystem.bootstrap { label in
            var handler = StreamLogHandler.standardError(label: label)
            handler.logLevel = logLevel
            return handler
        }
    } else {
        LoggingSystem.bootstrap { label in JSONLogHandler(label: label, level: logLevel) }
    }
}
