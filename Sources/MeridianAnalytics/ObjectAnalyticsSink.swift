import Foundation
import MeridianCore

/// The object-storage sink (CONTRACTS.md): each result as `analytics/<job>/date=<YYYY-MM-DD>/<window_start>_<key>.json`,
/// on the object-storage port (local files or S3), its revision in the object's metadata. A result whose object holds
/// the same or a higher revision already is not written again, so a replay leaves the objects as they were.
public struct ObjectAnalyticsSink: AnalyticsSink {
    public let name = "objects"
    let objects: any ObjectStore

    public init(objects: any ObjectStore) {
        self.objects = objects
    }

    static let encoder: JSONEncoder = {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return encoder
    }()

    public func write(_ results: [WindowResult]) async throws {
        for result in results {
            let key = try ObjectKey(validating: Self.key(for: result))
            if let existing = try await objects.head(key), let stored = existing.metadata["revision"].flatMap(Int.init),
                stored >= result.revision
            {
                continue
            }
            _ = try await objects.put(
                key, contentType: "application/json", metadata: ["revision": "\(result.revision)"],
                bytes: Array(try Self.encoder.encode(result)))
        }
    }

    /// The object key of a result. The window key is the job's (a user id, a size label): anything but letters,
    /// digits, `-`, `_` and `.` is percent-encoded, so that a key can neither add a path segment nor break the name.
    public static func key(for result: WindowResult) -> String {
        "analytics/\(component(result.job))/date=\(result.windowStart.prefix(10))/\(result.windowStart)_\(component(result.key)).json"
    }

    static func component(_ text: String) -> String {
        var encoded = ""
        for byte in text.utf8 {
            switch byte {
            case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"),
                UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "-"), UInt8(ascii: "_"):
                encoded.unicodeScalars.append(UnicodeScalar(byte))
            case UInt8(ascii: ".") where !encoded.isEmpty:
                encoded.append(".")
            default:
                encoded += String(format: "%%%02X", byte)
            }
        }
        return encoded
    }
}
