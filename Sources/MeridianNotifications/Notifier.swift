import Foundation
import Logging
import MeridianContracts
import MeridianCore
import MeridianMessaging
import MeridianStorage

/// The notifications service's consumer of `orders`: renders a message for `order.confirmed`, `order.failed`
/// and `order.cancelled`, records it, and delivers it through the channel, retrying with backoff. After the
/// last attempt the notification is marked failed and the event goes to `events-dlq`.
///
/// One notification per event id: a redelivered event that was sent is not sent again; one that was
/// recorded but not sent (a crash in between) is sent then.
public struct Notifier: Sendable {
    public struct Configuration: Sendable {
        /// Delivery attempts per message. Default 5.
        public var attempts = 5
        /// Pause after the first failed attempt; doubled after each. Default 200 ms.
        public var firstBackoff: Duration = .milliseconds(200)

        public init() {}
    }

    /// Every attempt failed; ``EventHandling`` sends the event to `events-dlq` at once.
    public struct Undeliverable: Error, CustomStringConvertible, DeadLetterNow {
        public var attempts: Int
        public var reason: String
        public var description: String { "notification undeliverable after \(attempts) attempts: \(reason)" }
    }

    let notifications: any NotificationStore
    let channel: any NotificationChannel
    let templates: NotificationTemplates
    let users: any UserDirectory
    let configuration: Configuration
    let logger: Logger

    public init(
        notifications: any NotificationStore, channel: any NotificationChannel, templates: NotificationTemplates,
        users: any UserDirectory, configuration: Configuration = .init(), logger: Logger
    ) {
        self.notifications = notifications
        self.channel = channel
        self.templates = templates
        self.users = users
        self.configuration = configuration
        self.logger = logger
    }

    /// Renders, delivers and records the message of one event, once per event id.
    ///
    /// One transaction when the first attempt succeeds (the notification is saved as sent); a failed attempt
    /// saves it as pending with its error, so retries are visible. The notification's id is its event's id:
    /// a redelivery after a crash between delivery and save sends the same `Idempotency-Key` again.
    public func handle(_ event: CloudEvent) async throws {
        guard templates.types.contains(event.type) else { return }
        let existing = try await notifications.find(eventID: event.id)
        if let existing, existing.status != .pending { return }
        var rendered = existing
        if rendered == nil { rendered = try await render(event) }
        guard var notification = rendered else { return }
        let message = OutgoingMessage(
            id: notification.id, type: notification.type, userID: notification.userID, orderID: notification.orderID,
            email: notification.recipient, subject: notification.subject, body: notification.body)
        var backoff = configuration.firstBackoff
        for attempt in 1...max(1, configuration.attempts) {
            do {
                try await channel.deliver(message)
                notification.attempts += 1
                notification.status = .sent
                notification.lastError = nil
                notification.sentAt = Date()
                try await notifications.save(notification)
                return
            } catch {
                notification.attempts += 1
                notification.lastError = "\(error)"
                logger.warning(
                    "notification attempt failed",
                    metadata: ["notification_id": "\(notification.id)", "attempt": "\(attempt)", "error": "\(error)"])
                if attempt < configuration.attempts {
                    try await notifications.save(notification)
                    try await Task.sleep(for: backoff)
                    backoff *= 2
                }
            }
        }
        notification.status = .failed
        try await notifications.save(notification)
        throw Undeliverable(attempts: configuration.attempts, reason: notification.lastError ?? "")
    }

    /// The notification of `event`, rendered from its template; nil for an event that asks for none.
    private func render(_ event: CloudEvent) async throws -> UserNotification? {
        var values: [String: String] = [:]
        let userID: String
        let orderID: String
        switch try CommerceEvent(event) {
        case .orderConfirmed(let confirmed)?:
            (userID, orderID) = (confirmed.userID, confirmed.orderID)
            values["total"] = NotificationTemplates.money(confirmed.totalCents, confirmed.currency)
            values["payment_id"] = confirmed.paymentID
            values["currency"] = confirmed.currency
        case .orderFailed(let failed)?:
            (userID, orderID) = (failed.userID, failed.orderID)
            values["reason"] = failed.reason.replacingOccurrences(of: "_", with: " ")
        case .orderCancelled(let cancelled)?:
            (userID, orderID) = (cancelled.userID, cancelled.orderID)
            values["reason"] = cancelled.reason.replacingOccurrences(of: "_", with: " ")
        default:
            return nil
        }
        values["order_id"] = orderID
        values["user_id"] = userID
        let contact = try await users.contact(of: UserID(userID))
        values["name"] = contact?.name ?? "customer"
        values["email"] = contact?.email ?? ""
        guard let rendered = templates.render(type: event.type, values: values) else { return nil }
        return UserNotification(
            id: event.id, eventID: event.id, type: event.type, userID: userID, orderID: orderID, channel: channel.name,
            recipient: contact?.email, subject: rendered.subject, body: rendered.body, status: .pending, attempts: 0,
            lastError: nil, createdAt: Date(), sentAt: nil)
    }
}
