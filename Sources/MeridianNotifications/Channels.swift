import AsyncHTTPClient
import Foundation
import Logging
import MeridianCore
import NIOCore
import NIOHTTP1

/// A rendered message on its way to a user.
public struct OutgoingMessage: Sendable, Hashable, Encodable {
    /// The notification id (the same on every attempt: receivers deduplicate by it).
    public var id: String
    public var type: String
    public var userID: String
    public var orderID: String?
    public var email: String?
    public var subject: String
    public var body: String

    enum CodingKeys: String, CodingKey {
        case id, type, email, subject, body
        case userID = "user_id"
        case orderID = "order_id"
    }
}

/// A way to reach users.
public protocol NotificationChannel: Sendable {
    /// The channel's name as configured and recorded: `log`, `webhook`, `smtp`.
    var name: String { get }
    /// Delivers the message or throws; the notifier retries.
    func deliver(_ message: OutgoingMessage) async throws
}

/// Writes each message to the log (the default: nothing to set up).
public struct LogChannel: NotificationChannel {
    public let name = "log"
    let logger: Logger

    public init(logger: Logger) {
        self.logger = logger
    }

    public func deliver(_ message: OutgoingMessage) async throws {
        logger.info(
            "notification",
            metadata: [
                "notification_id": "\(message.id)", "type": "\(message.type)", "user_id": "\(message.userID)",
                "subject": "\(message.subject)",
            ])
    }
}

/// POSTs each message as JSON to a URL (async-http-client); any answer but 2xx is a failed attempt.
/// The `Idempotency-Key` header carries the notification id, the same on every retry.
public struct WebhookChannel: NotificationChannel {
    public let name = "webhook"
    let url: String
    let timeout: Duration

    public init(url: String, timeout: Duration = .seconds(10)) {
        self.url = url
        self.timeout = timeout
    }

    public struct Refused: Error, CustomStringConvertible {
        public var status: Int
        public var description: String { "webhook answered \(status)" }
    }

    public func deliver(_ message: OutgoingMessage) async throws {
        var request = HTTPClientRequest(url: url)
        request.method = .POST
        request.headers.add(name: "Content-Type", value: "application/json")
        request.headers.add(name: "Idempotency-Key", value: message.id)
        request.headers.add(name: "User-Agent", value: "meridian-notifications")
        request.body = .bytes(ByteBuffer(bytes: try JSONEncoder().encode(message)))
        let response = try await HTTPClient.shared.execute(request, timeout: .milliseconds(timeout.milliseconds))
        _ = try? await response.body.collect(upTo: 65_536)
        guard (200..<300).contains(Int(response.status.code)) else { throw Refused(status: Int(response.status.code)) }
    }
}

/// Sends each message as an email through an SMTP server.
public struct SMTPChannel: NotificationChannel {
    public let name = "smtp"
    let client: SMTPClient
    let from: String

    public init(client: SMTPClient, from: String) {
        self.client = client
        self.from = from
    }

    public struct NoAddress: Error, CustomStringConvertible {
        public var userID: String
        public var description: String { "user \(userID) has no email address" }
    }

    public func deliver(_ message: OutgoingMessage) async throws {
        guard let email = message.email else { throw NoAddress(userID: message.userID) }
        try await client.send(from: from, to: email, subject: message.subject, body: message.body, messageID: message.id)
    }
}
