import Foundation
import MeridianCore
import MeridianStorage
import SQLKit

/// Where a notification is.
public enum NotificationStatus: String, Sendable, Codable {
    case pending, sent
    /// Every attempt failed: the event went to `events-dlq`.
    case failed
}

/// A message to a user about one event, as it was rendered and sent.
public struct UserNotification: Sendable, Hashable {
    public var id: String
    /// The event it is about; one notification per event.
    public var eventID: String
    public var type: String
    public var userID: String
    public var orderID: String?
    public var channel: String
    public var recipient: String?
    public var subject: String
    public var body: String
    public var status: NotificationStatus
    public var attempts: Int
    public var lastError: String?
    public var createdAt: Date
    public var sentAt: Date?

    public init(
        id: String, eventID: String, type: String, userID: String, orderID: String?, channel: String, recipient: String?,
        subject: String, body: String, status: NotificationStatus, attempts: Int, lastError: String?, createdAt: Date,
        sentAt: Date?
    ) {
        self.id = id
        self.eventID = eventID
        self.type = type
        self.userID = userID
        self.orderID = orderID
        self.channel = channel
        self.recipient = recipient
        self.subject = subject
        self.body = body
        self.status = status
        self.attempts = attempts
        self.lastError = lastError
        self.createdAt = createdAt
        self.sentAt = sentAt
    }
}

/// The notifications service's store (its port).
public protocol NotificationStore: Sendable {
    /// The notification of an event, if it has one.
    func find(eventID: String) async throws -> UserNotification?
    /// Saves the notification of its event, in one transaction: inserted the first time, its delivery state
    /// (status, attempts, last error, sent at) updated afterwards.
    func save(_ notification: UserNotification) async throws
    /// A user's notifications, newest first.
    func list(user: String, offset: Int, limit: Int) async throws -> (notifications: [UserNotification], total: Int)
}

/// The notifications service's table. `UNIQUE (event_id)` makes a redelivered event the same notification.
public struct SQLNotificationStore: NotificationStore {
    public static let migrations: [Migration] = [
        Migration(
            version: 1, name: "notifications",
            [
                """
                CREATE TABLE notifications (
                    id TEXT PRIMARY KEY, event_id TEXT NOT NULL UNIQUE, type TEXT NOT NULL, user_id TEXT NOT NULL,
                    order_id TEXT, channel TEXT NOT NULL, recipient TEXT, subject TEXT NOT NULL, body TEXT NOT NULL,
                    status TEXT NOT NULL, attempts INTEGER NOT NULL, last_error TEXT, created_at TEXT NOT NULL, sent_at TEXT)
                """,
                "CREATE INDEX notifications_user ON notifications (user_id, created_at)",
            ])
    ]

    public let store: any SQLStore

    public init(store: any SQLStore) {
        self.store = store
    }

    public func find(eventID: String) async throws -> UserNotification? {
        try await store.withDatabase { database in
            try await database.raw("SELECT * FROM notifications WHERE event_id = \(bind: eventID)").first()
                .map(Self.notification)
        }
    }

    public func save(_ notification: UserNotification) async throws {
        try await store.withTransaction { database in
            try await database.raw(
                """
                INSERT INTO notifications (id, event_id, type, user_id, order_id, channel, recipient, subject, body, status,
                                           attempts, last_error, created_at, sent_at)
                VALUES (\(bind: notification.id), \(bind: notification.eventID), \(bind: notification.type),
                        \(bind: notification.userID), \(bind: notification.orderID), \(bind: notification.channel),
                        \(bind: notification.recipient), \(bind: notification.subject), \(bind: notification.body),
                        \(bind: notification.status.rawValue), \(bind: notification.attempts), \(bind: notification.lastError),
                        \(bind: Timestamp.format(notification.createdAt)), \(bind: notification.sentAt.map(Timestamp.format)))
                ON CONFLICT (event_id) DO UPDATE SET status = excluded.status, attempts = excluded.attempts,
                    last_error = excluded.last_error, sent_at = excluded.sent_at
                """
            ).run()
        }
    }

    /// A page of the user's notifications, newest first.
    public func list(user: String, offset: Int, limit: Int) async throws -> (notifications: [UserNotification], total: Int) {
        try await store.withDatabase { database in
            let items = try await database.raw(
                """
                SELECT * FROM notifications WHERE user_id = \(bind: user)
                ORDER BY created_at DESC, id LIMIT \(bind: limit) OFFSET \(bind: offset)
                """
            ).all().map(Self.notification)
            let total =
                try await database.raw("SELECT COUNT(*) AS total FROM notifications WHERE user_id = \(bind: user)").first()?
                .decode(column: "total", as: Int.self) ?? 0
            return (items, total)
        }
    }

    private static func notification(_ row: any SQLRow) throws -> UserNotification {
        UserNotification(
            id: try row.decode(column: "id", as: String.self),
            eventID: try row.decode(column: "event_id", as: String.self),
            type: try row.decode(column: "type", as: String.self),
            userID: try row.decode(column: "user_id", as: String.self),
            orderID: try row.decode(column: "order_id", as: String?.self),
            channel: try row.decode(column: "channel", as: String.self),
            recipient: try row.decode(column: "recipient", as: String?.self),
            subject: try row.decode(column: "subject", as: String.self),
            body: try row.decode(column: "body", as: String.self),
            status: NotificationStatus(rawValue: try row.decode(column: "status", as: String.self)) ?? .pending,
            attempts: try row.decode(column: "attempts", as: Int.self),
            lastError: try row.decode(column: "last_error", as: String?.self),
            createdAt: Timestamp.parse(try row.decode(column: "created_at", as: String.self)) ?? Date(timeIntervalSince1970: 0),
            sentAt: try row.decode(column: "sent_at", as: String?.self).flatMap(Timestamp.parse))
    }
}
