import Foundation
import MeridianContracts
import MeridianCore
import MeridianStorage
import SQLKit

/// What became of a payment.
public enum PaymentStatus: String, Sendable, Codable, CaseIterable {
    case succeeded, failed
    /// It succeeded, and was given back because its order had been cancelled.
    case refunded
    /// Its order was cancelled before it was charged: it never will be.
    case voided
}

/// One payment per order.
public struct Payment: Sendable, Hashable {
    public var id: String
    public var orderID: String
    public var userID: String
    public var amountCents: Int
    public var currency: String
    public var method: String
    public var status: PaymentStatus
    public var reason: String?
    public var createdAt: Date
    public var refundedAt: Date?
}

/// The payments service's table. The `UNIQUE (order_id)` constraint is what makes it one payment per
/// order, whatever the redelivery or the race.
public struct PaymentStore: Sendable {
    public static let migrations: [Migration] = [
        Migration(
            version: 1, name: "payments",
            [
                """
                CREATE TABLE payments (
                    id TEXT PRIMARY KEY, order_id TEXT NOT NULL UNIQUE, user_id TEXT NOT NULL,
                    amount_cents BIGINT NOT NULL CHECK (amount_cents >= 0), currency TEXT NOT NULL, method TEXT NOT NULL,
                    status TEXT NOT NULL, reason TEXT, created_at TEXT NOT NULL, refunded_at TEXT)
                """,
                "CREATE INDEX payments_user ON payments (user_id, created_at)",
            ])
    ]

    static let role = "payments"

    public let store: any SQLStore
    public let topics: Topics

    public init(store: any SQLStore, topics: Topics) {
        self.store = store
        self.topics = topics
    }

    public func find(_ id: String) async throws -> Payment? {
        try await store.withDatabase { database in
            try await database.raw("SELECT * FROM payments WHERE id = \(bind: id)").first().map(Self.payment)
        }
    }

    public func find(order: String) async throws -> Payment? {
        try await store.withDatabase { database in try await Self.find(order: order, in: database) }
    }

    /// A page of payments, newest first: of one user, or everyone's when `user` is nil; optionally of one order.
    public func list(user: String?, order: String?, offset: Int, limit: Int) async throws -> (payments: [Payment], total: Int) {
        try await store.withDatabase { database in
            var filter = SQLQueryString("1 = 1")
            if let user {
                filter.and("user_id", equals: user)
            }
            if let order {
                filter.and("order_id", equals: order)
            }
            let payments = try await database.raw(
                "SELECT * FROM payments WHERE \(filter) ORDER BY created_at DESC, id LIMIT \(bind: limit) OFFSET \(bind: offset)"
            ).all().map(Self.payment)
            let total =
                try await database.raw("SELECT COUNT(*) AS total FROM payments WHERE \(filter)").first()?
                .decode(column: "total", as: Int.self) ?? 0
            return (payments, total)
        }
    }

    /// What ``record(_:)`` did.
    public enum Recording: Sendable, Equatable {
        /// Written, with `payment.succeeded` or `payment.failed`.
        case recorded(Payment)
        /// The order was cancelled while it was being charged: the charge is recorded as refunded, with `payment.refunded`.
        case refunded(Payment)
        /// The order already had its payment: nothing changed.
        case alreadyRecorded
    }

    /// Records the outcome of a charge with its event, in one transaction with the id of the
    /// `payment.requested` event it answers (the inbox), unless that event or the order already has a payment.
    public func record(_ payment: Payment, requestEventID: String) async throws -> Recording {
        let topics = self.topics
        return try await store.withTransaction { database -> Recording in
            guard try await Inbox.claim(requestEventID, consumer: Self.role, in: database) else { return .alreadyRecorded }
            if let existing = try await Self.find(order: payment.orderID, in: database) {
                guard existing.status == .voided, payment.status == .succeeded else { return .alreadyRecorded }
                var refunded = payment
                refunded.id = existing.id
                refunded.status = .refunded
                refunded.refundedAt = Date()
                try await database.raw(
                    """
                    UPDATE payments SET amount_cents = \(bind: payment.amountCents), currency = \(bind: payment.currency),
                        method = \(bind: payment.method), status = \(bind: PaymentStatus.refunded.rawValue),
                        refunded_at = \(bind: Timestamp.format(refunded.refundedAt!))
                    WHERE id = \(bind: existing.id)
                    """
                ).run()
                try await Outbox.enqueue([try Self.refundEvent(refunded, topics: topics)], service: Self.role, in: database)
                return .refunded(refunded)
            }
            try await Self.insert(payment, in: database)
            let record: EventRecord
            if payment.status == .succeeded {
                record = try PaymentSucceeded(
                    orderID: payment.orderID, paymentID: payment.id, amountCents: payment.amountCents,
                    currency: payment.currency, processedAt: Timestamp.format(payment.createdAt)
                ).record(topics: topics, time: payment.createdAt)
            } else {
                record = try PaymentFailed(orderID: payment.orderID, reason: payment.reason ?? "declined")
                    .record(topics: topics, time: payment.createdAt)
            }
            try await Outbox.enqueue([record], service: Self.role, in: database)
            return .recorded(payment)
        }
    }

    /// What ``orderCancelled(eventID:order:user:)`` did.
    public enum Cancellation: Sendable, Equatable {
        /// The order's payment had succeeded: it is refunded, with `payment.refunded`.
        case refunded(Payment)
        /// The order had no payment yet: a voided one is recorded so it is never charged.
        case voided
        /// Nothing to do (failed or already refunded payment, or a redelivered event).
        case nothing
    }

    /// Applies `order.cancelled` once (the inbox).
    public func orderCancelled(eventID: String, order: String, user: String) async throws -> Cancellation {
        let topics = self.topics
        return try await store.withTransaction { database -> Cancellation in
            guard try await Inbox.claim(eventID, consumer: Self.role, in: database) else { return .nothing }
            guard var payment = try await Self.find(order: order, in: database) else {
                let now = Date()
                try await Self.insert(
                    Payment(
                        id: RandomID.uuidString(), orderID: order, userID: user, amountCents: 0, currency: "", method: "",
                        status: .voided, reason: "order_cancelled", createdAt: now, refundedAt: nil),
                    in: database)
                return .voided
            }
            guard payment.status == .succeeded else { return .nothing }
            payment.status = .refunded
            payment.refundedAt = Date()
            try await database.raw(
                """
                UPDATE payments SET status = \(bind: PaymentStatus.refunded.rawValue),
                    refunded_at = \(bind: Timestamp.format(payment.refundedAt!))
                WHERE id = \(bind: payment.id)
                """
            ).run()
            try await Outbox.enqueue([try Self.refundEvent(payment, topics: topics)], service: Self.role, in: database)
            return .refunded(payment)
        }
    }

    private static func refundEvent(_ payment: Payment, topics: Topics) throws -> EventRecord {
        let at = payment.refundedAt ?? Date()
        return try PaymentRefunded(
            orderID: payment.orderID, paymentID: payment.id, amountCents: payment.amountCents,
            currency: payment.currency, refundedAt: Timestamp.format(at)
        ).record(topics: topics, time: at)
    }

    private static func insert(_ payment: Payment, in database: any SQLDatabase) async throws {
        try await database.raw(
            """
            INSERT INTO payments (id, order_id, user_id, amount_cents, currency, method, status, reason, created_at)
            VALUES (\(bind: payment.id), \(bind: payment.orderID), \(bind: payment.userID), \(bind: payment.amountCents),
                    \(bind: payment.currency), \(bind: payment.method), \(bind: payment.status.rawValue),
                    \(bind: payment.reason), \(bind: Timestamp.format(payment.createdAt)))
            """
        ).run()
    }

    static func find(order: String, in database: any SQLDatabase) async throws -> Payment? {
        try await database.raw("SELECT * FROM payments WHERE order_id = \(bind: order)").first().map(payment)
    }

    private static func payment(_ row: any SQLRow) throws -> Payment {
        Payment(
            id: try row.decode(column: "id", as: String.self),
            orderID: try row.decode(column: "order_id", as: String.self),
            userID: try row.decode(column: "user_id", as: String.self),
            amountCents: try row.decode(column: "amount_cents", as: Int.self),
            currency: try row.decode(column: "currency", as: String.self),
            method: try row.decode(column: "method", as: String.self),
            status: PaymentStatus(rawValue: try row.decode(column: "status", as: String.self)) ?? .failed,
            reason: try row.decode(column: "reason", as: String?.self),
            createdAt: Timestamp.parse(try row.decode(column: "created_at", as: String.self)) ?? Date(timeIntervalSince1970: 0),
            refundedAt: try row.decode(column: "refunded_at", as: String?.self).flatMap(Timestamp.parse))
    }
}
