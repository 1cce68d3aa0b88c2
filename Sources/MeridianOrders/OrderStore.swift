import Foundation
import MeridianContracts
import MeridianCore
import MeridianMessaging
import MeridianStorage
import SQLKit

/// Where an order is in the saga.
public enum OrderStatus: String, Sendable, Codable, CaseIterable {
    /// Created, stock reserved, `payment.requested` sent.
    case awaitingPayment = "AWAITING_PAYMENT"
    /// Paid: the stock is committed.
    case confirmed = "CONFIRMED"
    /// The payment failed: the reservation is released.
    case failed = "FAILED"
    /// Not paid within the reservation time: the reservation is released.
    case cancelled = "CANCELLED"

    /// The `status` label of `meridian_orders_total`.
    public var metricLabel: String { rawValue.lowercased() }
}

/// An order with its lines, whose names and prices are those of when it was placed.
public struct Order: Sendable, Hashable {
    public var id: String
    public var userID: String
    public var status: OrderStatus
    public var items: [OrderItem]
    public var totalCents: Int
    public var currency: String
    public var paymentMethod: String
    public var paymentID: String?
    public var reason: String?
    public var idempotencyKey: String?
    public var createdAt: Date
    public var updatedAt: Date
    public var expiresAt: Date

    public init(
        id: String, userID: String, status: OrderStatus, items: [OrderItem], totalCents: Int, currency: String,
        paymentMethod: String, paymentID: String?, reason: String?, idempotencyKey: String?, createdAt: Date, updatedAt: Date,
        expiresAt: Date
    ) {
        self.id = id
        self.userID = userID
        self.status = status
        self.items = items
        self.totalCents = totalCents
        self.currency = currency
        self.paymentMethod = paymentMethod
        self.paymentID = paymentID
        self.reason = reason
        self.idempotencyKey = idempotencyKey
        self.createdAt = createdAt
        self.updatedAt = updatedAt
        self.expiresAt = expiresAt
    }
}

/// The orders service's tables and the saga's state changes, each in one transaction with its events
/// (the outbox) and, for consumed events, with the event id (the inbox).
public struct OrderStore: Sendable {
    public static let migrations: [Migration] = [
        Migration(
            version: 1, name: "orders",
            [
                """
                CREATE TABLE orders (
                    id TEXT PRIMARY KEY, user_id TEXT NOT NULL, status TEXT NOT NULL,
                    total_cents BIGINT NOT NULL CHECK (total_cents >= 0), currency TEXT NOT NULL,
                    payment_method TEXT NOT NULL, payment_id TEXT, reason TEXT, idempotency_key TEXT,
                    created_at TEXT NOT NULL, updated_at TEXT NOT NULL, expires_at TEXT NOT NULL)
                """,
                "CREATE UNIQUE INDEX orders_idempotency ON orders (user_id, idempotency_key)",
                "CREATE INDEX orders_user ON orders (user_id, created_at)",
                "CREATE INDEX orders_status_expiry ON orders (status, expires_at)",
                """
                CREATE TABLE order_items (
                    order_id TEXT NOT NULL, product_id TEXT NOT NULL, name TEXT NOT NULL,
                    unit_price_cents BIGINT NOT NULL, quantity BIGINT NOT NULL CHECK (quantity > 0),
                    PRIMARY KEY (order_id, product_id))
                """,
            ])
    ]

    static let role = "orders"

    public let store: any SQLStore
    public let topics: Topics

    public init(store: any SQLStore, topics: Topics) {
        self.store = store
        self.topics = topics
    }

    /// What ``create(_:fromCart:)`` did.
    public enum Creation: Sendable {
        case created(Order)
        /// The user already has an order with this idempotency key: that one.
        case existing(Order)
    }

    /// Writes a new order with `order.created` and `payment.requested`, in one transaction.
    public func create(_ order: Order, fromCart: Bool) async throws -> Creation {
        let topics = self.topics
        return try await store.withTransaction { database -> Creation in
            let inserted = try await database.raw(
                """
                INSERT INTO orders (id, user_id, status, total_cents, currency, payment_method, idempotency_key,
                                    created_at, updated_at, expires_at)
                VALUES (\(bind: order.id), \(bind: order.userID), \(bind: order.status.rawValue), \(bind: order.totalCents),
                        \(bind: order.currency), \(bind: order.paymentMethod), \(bind: order.idempotencyKey),
                        \(bind: Timestamp.format(order.createdAt)), \(bind: Timestamp.format(order.updatedAt)),
                        \(bind: Timestamp.format(order.expiresAt)))
                ON CONFLICT (user_id, idempotency_key) DO NOTHING RETURNING id
                """
            ).all()
            guard !inserted.isEmpty else {
                guard let key = order.idempotencyKey,
                    let existing = try await Self.find(user: order.userID, key: key, in: database)
                else { throw OrderStoreError.conflict(order.id) }
                return .existing(existing)
            }
            for item in order.items {
                try await database.raw(
                    """
                    INSERT INTO order_items (order_id, product_id, name, unit_price_cents, quantity)
                    VALUES (\(bind: order.id), \(bind: item.productID), \(bind: item.name), \(bind: item.unitPriceCents),
                            \(bind: item.quantity))
                    """
                ).run()
            }
            let created = OrderCreated(
                orderID: order.id, userID: order.userID, items: order.items, totalCents: order.totalCents,
                currency: order.currency, createdAt: Timestamp.format(order.createdAt), fromCart: fromCart)
            let requested = PaymentRequested(
                orderID: order.id, userID: order.userID, amountCents: order.totalCents, currency: order.currency,
                paymentMethod: order.paymentMethod)
            try await Outbox.enqueue(
                [
                    try created.record(topics: topics, time: order.createdAt),
                    try requested.record(topics: topics, time: order.createdAt),
                ], service: Self.role, in: database)
            return .created(order)
        }
    }

    public func find(_ id: String) async throws -> Order? {
        try await store.withDatabase { database in try await Self.find(id, in: database) }
    }

    public func find(user: String, idempotencyKey: String) async throws -> Order? {
        try await store.withDatabase { database in try await Self.find(user: user, key: idempotencyKey, in: database) }
    }

    /// A page of orders, newest first: of one user, or of everyone when `user` is nil.
    public func list(user: String?, status: OrderStatus?, offset: Int, limit: Int) async throws -> (orders: [Order], total: Int) {
        try await store.withDatabase { database in
            var filter = SQLQueryString("1 = 1")
            if let user {
                filter.and("user_id", equals: user)
            }
            if let status {
                filter.and("status", equals: status.rawValue)
            }
            let ids = try await database.raw(
                "SELECT id FROM orders WHERE \(filter) ORDER BY created_at DESC, id LIMIT \(bind: limit) OFFSET \(bind: offset)"
            ).all().map { try $0.decode(column: "id", as: String.self) }
            var orders: [Order] = []
            for id in ids {
                if let order = try await Self.find(id, in: database) { orders.append(order) }
            }
            let total =
                try await database.raw("SELECT COUNT(*) AS total FROM orders WHERE \(filter)").first()?
                .decode(column: "total", as: Int.self) ?? 0
            return (orders, total)
        }
    }

    /// Applies `payment.succeeded` once: an order awaiting payment becomes `CONFIRMED` with `order.confirmed`.
    /// Returns the order when it changed; nil for a redelivery or an order no longer awaiting payment.
    public func confirm(eventID: String, payment: PaymentSucceeded) async throws -> Order? {
        let now = Date()
        return try await transition(
            eventID: eventID, order: payment.orderID, to: .confirmed, at: now, paymentID: payment.paymentID
        ) { order, topics in
            try OrderConfirmed(
                orderID: order.id, userID: order.userID, totalCents: order.totalCents, currency: order.currency,
                paymentID: payment.paymentID, confirmedAt: Timestamp.format(now)
            ).record(topics: topics, time: now)
        }
    }

    /// Applies `payment.failed` once: an order awaiting payment becomes `FAILED` with `order.failed`.
    public func fail(eventID: String, payment: PaymentFailed) async throws -> Order? {
        let now = Date()
        return try await transition(eventID: eventID, order: payment.orderID, to: .failed, at: now, reason: payment.reason) {
            order, topics in
            try OrderFailed(orderID: order.id, userID: order.userID, reason: payment.reason).record(topics: topics, time: now)
        }
    }

    /// Cancels up to `limit` orders still awaiting payment whose reservation expired before `now`,
    /// each with `order.cancelled` (reason `reservation_expired`). Returns them.
    public func cancelExpired(now: Date = Date(), limit: Int = 200) async throws -> [Order] {
        let expired = try await store.withDatabase { database in
            try await database.raw(
                """
                SELECT id FROM orders WHERE status = \(bind: OrderStatus.awaitingPayment.rawValue)
                AND expires_at < \(bind: Timestamp.format(now)) ORDER BY expires_at LIMIT \(bind: limit)
                """
            ).all().map { try $0.decode(column: "id", as: String.self) }
        }
        var cancelled: [Order] = []
        for id in expired {
            let reason = "reservation_expired"
            if let order = try await transition(
                eventID: nil, order: id, to: .cancelled, at: now, reason: reason,
                event: { order, topics in
                    try OrderCancelled(orderID: order.id, userID: order.userID, reason: reason).record(topics: topics, time: now)
                })
            {
                cancelled.append(order)
            }
        }
        return cancelled
    }

    /// Moves an order awaiting payment to `status` with its event, in one transaction; with `eventID`, once
    /// per consumed event (the inbox). The `UPDATE ... WHERE status = AWAITING_PAYMENT` decides races
    /// (a payment and the sweeper at the same moment): exactly one of them changes the order.
    private func transition(
        eventID: String?, order id: String, to status: OrderStatus, at now: Date, paymentID: String? = nil,
        reason: String? = nil, event: @Sendable (Order, Topics) throws -> EventRecord
    ) async throws -> Order? {
        let topics = self.topics
        return try await store.withTransaction { database -> Order? in
            if let eventID {
                guard try await Inbox.claim(eventID, consumer: Self.role, in: database) else { return nil }
            }
            let changed = try await database.raw(
                """
                UPDATE orders SET status = \(bind: status.rawValue), payment_id = \(bind: paymentID), reason = \(bind: reason),
                    updated_at = \(bind: Timestamp.format(now))
                WHERE id = \(bind: id) AND status = \(bind: OrderStatus.awaitingPayment.rawValue)
                RETURNING id
                """
            ).all()
            guard !changed.isEmpty, let order = try await Self.find(id, in: database) else { return nil }
            try await Outbox.enqueue([try event(order, topics)], service: Self.role, in: database)
            return order
        }
    }

    static func find(_ id: String, in database: any SQLDatabase) async throws -> Order? {
        guard let row = try await database.raw("SELECT * FROM orders WHERE id = \(bind: id)").first() else { return nil }
        let items = try await database.raw(
            "SELECT * FROM order_items WHERE order_id = \(bind: id) ORDER BY product_id"
        ).all().map { item in
            OrderItem(
                productID: try item.decode(column: "product_id", as: String.self),
                name: try item.decode(column: "name", as: String.self),
                unitPriceCents: try item.decode(column: "unit_price_cents", as: Int.self),
                quantity: try item.decode(column: "quantity", as: Int.self))
        }
        let epoch = Date(timeIntervalSince1970: 0)
        return Order(
            id: id,
            userID: try row.decode(column: "user_id", as: String.self),
            status: OrderStatus(rawValue: try row.decode(column: "status", as: String.self)) ?? .failed,
            items: items,
            totalCents: try row.decode(column: "total_cents", as: Int.self),
            currency: try row.decode(column: "currency", as: String.self),
            paymentMethod: try row.decode(column: "payment_method", as: String.self),
            paymentID: try row.decode(column: "payment_id", as: String?.self),
            reason: try row.decode(column: "reason", as: String?.self),
            idempotencyKey: try row.decode(column: "idempotency_key", as: String?.self),
            createdAt: Timestamp.parse(try row.decode(column: "created_at", as: String.self)) ?? epoch,
            updatedAt: Timestamp.parse(try row.decode(column: "updated_at", as: String.self)) ?? epoch,
            expiresAt: Timestamp.parse(try row.decode(column: "expires_at", as: String.self)) ?? epoch)
    }

    static func find(user: String, key: String, in database: any SQLDatabase) async throws -> Order? {
        guard
            let id = try await database.raw(
                "SELECT id FROM orders WHERE user_id = \(bind: user) AND idempotency_key = \(bind: key)"
            ).first()?.decode(column: "id", as: String.self)
        else { return nil }
        return try await find(id, in: database)
    }
}

public enum OrderStoreError: Error {
    /// An order id that already exists (ids are random UUIDs: this does not happen).
    case conflict(String)
}
