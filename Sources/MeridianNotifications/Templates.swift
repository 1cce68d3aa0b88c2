import Foundation
import MeridianContracts
import Mustache

/// The subject and body templates of each notified event type (Mustache, via swift-mustache).
///
/// Built-in templates cover `order.confirmed`, `order.failed` and `order.cancelled`; a directory of
/// `<type>.subject.mustache` and `<type>.body.mustache` files (for example `order.confirmed.body.mustache`)
/// replaces any of them. Templates see the event's data fields plus `name`, `email` and `total`
/// (the amount formatted with its currency). Use triple braces: messages are plain text.
public struct NotificationTemplates: Sendable {
    public struct Rendered: Sendable, Hashable {
        public var subject: String
        public var body: String
    }

    static let builtIn: [String: (subject: String, body: String)] = [
        OrderConfirmed.type.rawValue: (
            "Your order {{{order_id}}} is confirmed",
            """
            Hello {{{name}}},

            we received your payment of {{{total}}} for order {{{order_id}}}. It is confirmed and on its way.

            Thank you for shopping with Meridian.
            """
        ),
        OrderFailed.type.rawValue: (
            "Your order {{{order_id}}} could not be completed",
            """
            Hello {{{name}}},

            the payment for order {{{order_id}}} did not go through ({{{reason}}}). Nothing was charged and the items
            are back in stock. Your cart still holds them if you want to try another payment method.
            """
        ),
        OrderCancelled.type.rawValue: (
            "Your order {{{order_id}}} was cancelled",
            """
            Hello {{{name}}},

            order {{{order_id}}} was cancelled ({{{reason}}}) because it was not paid in time. If a payment arrives
            after all, it is refunded.
            """
        ),
    ]

    let templates: [String: (subject: MustacheTemplate, body: MustacheTemplate)]

    /// The event types there are templates for.
    public var types: Set<String> { Set(templates.keys) }

    /// The built-in templates, with those found in `directory` (when given) in their place.
    public init(directory: String? = nil) throws {
        var templates: [String: (subject: MustacheTemplate, body: MustacheTemplate)] = [:]
        for (type, text) in Self.builtIn {
            var subject = text.subject
            var body = text.body
            if let directory {
                let base = (directory as NSString).appendingPathComponent(type)
                if let custom = try? String(contentsOfFile: base + ".subject.mustache", encoding: .utf8) { subject = custom }
                if let custom = try? String(contentsOfFile: base + ".body.mustache", encoding: .utf8) { body = custom }
            }
            templates[type] = (try MustacheTemplate(string: subject), try MustacheTemplate(string: body))
        }
        self.templates = templates
    }

    /// The message for an event of `type`, or nil when there is no template for it.
    public func render(type: String, values: [String: String]) -> Rendered? {
        guard let template = templates[type] else { return nil }
        let subject = template.subject.render(values).replacingOccurrences(of: "\r", with: " ")
            .replacingOccurrences(of: "\n", with: " ").trimmingCharacters(in: .whitespaces)
        return Rendered(subject: subject, body: template.body.render(values))
    }

    /// `1999` `USD` → `19.99 USD`, by the currency's minor units (ISO 4217: 0, 2 or 3 decimals).
    public static func money(_ cents: Int, _ currency: String) -> String {
        let digits =
            ["JPY": 0, "KRW": 0, "ISK": 0, "CLP": 0, "VND": 0, "BHD": 3, "KWD": 3, "OMR": 3, "JOD": 3, "TND": 3][currency] ?? 2
        guard digits > 0 else { return "\(cents) \(currency)" }
        var scale = 1
        for _ in 0..<digits { scale *= 10 }
        let sign = cents < 0 ? "-" : ""
        // `magnitude`, not `abs`: abs(Int.min) traps (an event's total is not trusted to be in range).
        let whole = cents.magnitude / UInt(scale)
        let fraction = String(cents.magnitude % UInt(scale))
        return "\(sign)\(whole).\(String(repeating: "0", count: digits - fraction.count))\(fraction) \(currency)"
    }
}
