import Foundation
import MeridianContracts
import MeridianCore
import MeridianStorage
import SQLKit

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

/// What applying a ``PaymentLifecycle`` event did.
public enum PaymentChange: Sendable, Equatable {
    /// A new payment, with `payment.succeeded` or `payment.failed`.
    case recorded(Payment)
    /// The payment was given back, with `payment.refunded`.
    case refunded(Payment)
    /// The order was cancelled before it was charged: a voided payment stands for it.
    case voided
    /// Nothing changed (a redelivered event, or nothing to do).
    case nothing
}

/// The payments service's store (its port): payments and their events, each change in one transaction with
/// the id of the event it answers (the inbox).
public protocol PaymentStore: Sendable {
    func find(_ id: String) async throws -> Payment?
    func find(order: String) async throws -> Payment?
    /// A page of payments, newest first: of one user, or everyone's when `user` is nil; optionally of one order.
    func list(user: String?, order: String?, offset: Int, limit: Int) async throws -> (payments: [Payment], total: Int)
    /// Records the outcome of the charge that answers `payment.requested` `requestEventID`, as
    /// ``PaymentLifecycle`` says.
    func record(_ payment: Payment, outcome: ChargeOutcome, requestEventID: String) async throws -> PaymentChange
    /// Applies `order.cancelled` `eventID`, as ``PaymentLifecycle`` says.
    func orderCancelled(eventID: String, order: String, user: String) async throws -> PaymentChange
}

/// The payments service's table. The `UNIQUE (order_id)` constraint is what makes it one payment per
/// order, whatever the redelivery or the race.
public struct SQLPaymentStore: PaymentStore {
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

    public func record(_ payment: Payment, outcome: ChargeOutcome, requestEventID: String) async throws -> PaymentChange {
        let topics = self.topics
        return try await store.withTransaction { database -> PaymentChange in
            guard try await Inbox.claim(requestEventID, consumer: Self.role, in: database) else { return .nothing }
            let existing = try await Self.find(order: payment.orderID, in: database)
            switch PaymentLifecycle.transition(from: existing?.status, on: .charged(outcome)) {
            case .ignore:
                return .nothing
            case .record(.refunded, _):
                // Charged while the order was being cancelled: recorded as refunded at once.
                var refunded = payment
                refunded.id = existing?.id ?? payment.id
                refunded.status = .refunded
                refunded.refundedAt = Date()
                try await database.raw(
                    """
                    UPDATE payments SET amount_cents = \(bind: payment.amountCents), currency = \(bind: payment.currency),
                        method = \(bind: payment.method), status = \(bind: PaymentStatus.refunded.rawValue),
                        refunded_at = \(bind: Timestamp.format(refunded.refundedAt!))
                    WHERE id = \(bind: refunded.id)
                    """
                ).run()
                try await Outbox.enqueue([try Self.refundEvent(refunded, topics: topics)], service: Self.role, in: database)
                return .refunded(refunded)
            case .record(let status, let publication):
                var recorded = payment
                recorded.status = status
                if case .failed(let reason)? = publication { recorded.reason = reason }
                try await Self.insert(recorded, in: database)
                let record: EventRecord
                if status == .succeeded {
                    record = try PaymentSucceeded(
                        orderID: recorded.orderID, paymentID: recorded.id, amountCents: recorded.amountCents,
                        currency: recorded.currency, processedAt: Timestamp.format(recorded.createdAt)
                    ).record(topics: topics, time: recorded.createdAt)
                } else {
                    record = try PaymentFailed(orderID: recorded.orderID, reason: recorded.reason ?? "declined")
                        .record(topics: topics, time: recorded.createdAt)
                }
                try await Outbox.enqueue([record], service: Self.role, in: database)
                return .recorded(recorded)
            }
        }
    }

    public func orderCancelled(eventID: String, order: String, user: String) async throws -> PaymentChange {
        let topics = self.topics
        return try await store.withTransaction { database -> PaymentChange in
            guard try await Inbox.claim(eventID, consumer: Self.role, in: database) else { return .nothing }
            let existing = try await Self.find(order: order, in: database)
            switch PaymentLifecycle.transition(from: existing?.status, on: .orderCancelled) {
            case .ignore:
                return .nothing
            case .record(.voided, _):
                try await Self.insert(
                    Payment(
                        id: RandomID.uuidString(), orderID: order, userID: user, amountCents: 0, currency: "", method: "",
                        status: .voided, reason: "order_cancelled", createdAt: Date(), refundedAt: nil),
                    in: database)
                return .voided
            case .record(let status, _):
                guard var payment = existing else { return .nothing }
                payment.status = status
                payment.refundedAt = Date()
                try await database.raw(
                    """
                    UPDATE payments SET status = \(bind: status.rawValue),
                        refunded_at = \(bind: Timestamp.format(payment.refundedAt!))
                    WHERE id = \(bind: payment.id)
                    """
                ).run()
                try await Outbox.enqueue([try Self.refundEvent(payment, topics: topics)], service: Self.role, in: database)
                return .refunded(payment)
            }
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
