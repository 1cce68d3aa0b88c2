import Foundation
import HTTPTypes

/// The preferences of a request's `Prefer` header (RFC 7240) that Meridian honours: `wait`.
///
/// Preferences a server does not understand, or whose value is malformed, are ignored (RFC 7240 §2), so a
/// bad `Prefer` header never fails a request.
public struct Preferences: Sendable, Hashable {
    public static let prefer = HTTPField.Name("Prefer")!
    public static let preferenceApplied = HTTPField.Name("Preference-Applied")!

    /// `wait=<seconds>`: how long the client is willing to wait for the outcome.
    public var wait: Int?

    public init(_ fields: HTTPFields) {
        for header in fields[values: Self.prefer] {
            for preference in header.split(separator: ",") {
                let token = preference.split(separator: ";", maxSplits: 1).first ?? ""
                let parts = token.split(separator: "=", maxSplits: 1).map { $0.trimmingCharacters(in: .whitespaces) }
                guard parts.count == 2, parts[0].lowercased() == "wait" else { continue }
                let value =
                    parts[1].hasPrefix("\"") && parts[1].hasSuffix("\"") && parts[1].count >= 2
                    ? String(parts[1].dropFirst().dropLast()) : parts[1]
                // delta-seconds: digits only; anything longer than a day is a day.
                guard !value.isEmpty, value.utf8.allSatisfy({ (48...57).contains($0) }) else { continue }
                wait = value.utf8.count > 6 ? 86_400 : min(Int(value) ?? 0, 86_400)
            }
        }
    }
}
