import Foundation
import MeridianContracts
import MeridianCore
import MeridianStorage
import SQLKit

/// An order with its lines, whose names and prices are those of when it was placed.
public struct Order: Sendable, Hashable {
    public var id: OrderID
    public var userID: UserID
    public var status: OrderStatus
    public var items: [OrderItem]
    public var totalCents: Int
    public var currency: String
    public var paymentMethod: String
    public var paymentID: PaymentID?
    public var reason: String?
    public var idempotencyKey: String?
    public var createdAt: Date
    public var updatedAt: Date
    public var expiresAt: Date

    public init(
        id: OrderID, userID: UserID, status: OrderStatus, items: [OrderItem], totalCents: Int, currency: String,
        paymentMethod: String, paymentID: PaymentID?, reason: String?, idempotencyKey: String?, createdAt: Date,
        updatedAt: Date, expiresAt: Date
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

/// The orders service's store (its port): orders with their events (the outbox) and, for consumed events,
/// the event ids (the inbox), each change in one transaction.
public protocol OrderStore: Sendable {
    /// Writes a new order with `order.created` and `payment.requested`; with an idempotency key the user
    /// already used, returns that order instead.
    func create(_ order: Order, fromCart: Bool) async throws -> OrderCreation
    func find(_ id: OrderID) async throws -> Order?
    func find(user: UserID, idempotencyKey: String) async throws -> Order?
    /// A page of orders, newest first: of one user, or of everyone when `user` is nil.
    func list(user: UserID?, status: OrderStatus?, offset: Int, limit: Int) async throws -> (orders: [Order], total: Int)
    /// Applies `event` to the order as ``OrderLifecycle`` says, publishing its event; with `eventID`, once per
    /// consumed event. Returns the order when it changed, nil otherwise (unknown order, ignored, redelivered).
    func apply(_ event: OrderLifecycle.Event, to order: OrderID, eventID: String?, at now: Date) async throws -> Order?
    /// Orders awaiting payment whose reservation expired before `now`, oldest first.
    func expired(before now: Date, limit: Int) async throws -> [OrderID]
}

/// What ``OrderStore/create(_:fromCart:)`` did.
public enum OrderCreation: Sendable, Hashable {
    case created(Order)
    /// The user already has an order with this idempotency key: that one.
    case existing(Order)
}

public enum OrderStoreError: Error {
    /// An order id that already exists (ids are random UUIDs: this does not happen).
    case conflict(OrderID)
}

/// The orders service's tables, on the `SQLStore` port (SQLite or PostgreSQL).
public struct SQLOrderStore: OrderStore {
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

    public func create(_ order: Order, fromCart: Bool) async throws -> OrderCreation {
        let topics = self.topics
        return try await store.withTransaction { database -> OrderCreation in
            let inserted = try await database.raw(
                """
                INSERT INTO orders (id, user_id, status, total_cents, currency, payment_method, idempotency_key,
                                    created_at, updated_at, expires_at)
                VALUES (\(bind: order.id.rawValue), \(bind: order.userID.rawValue), \(bind: order.status.rawValue),
                        \(bind: order.totalCents), \(bind: order.currency), \(bind: order.paymentMethod),
                        \(bind: order.idempotencyKey), \(bind: Timestamp.format(order.createdAt)),
                        \(bind: Timestamp.format(order.updatedAt)), \(bind: Timestamp.format(order.expiresAt)))
                ON CONFLICT (user_id, idempotency_key) DO NOTHING RETURNING id
                """
            ).all()
            guard !inserted.isEmpty else {
                guard let key = order.idempotencyKey,
                    let existing = try await Self.find(user: order.userID.rawValue, key: key, in: database)
                else { throw OrderStoreError.conflict(order.id) }
                return .existing(existing)
            }
            for item in order.items {
                try await database.raw(
                    """
                    INSERT INTO order_items (order_id, product_id, name, unit_price_cents, quantity)
                    VALUES (\(bind: order.id.rawValue), \(bind: item.productID), \(bind: item.name),
                            \(bind: item.unitPriceCents), \(bind: item.quantity))
                    """
                ).run()
            }
            let created = OrderCreated(
                orderID: order.id.rawValue, userID: order.userID.rawValue, items: order.items, totalCents: order.totalCents,
                currency: order.currency, createdAt: Timestamp.format(order.createdAt), fromCart: fromCart)
            let requested = PaymentRequested(
                orderID: order.id.rawValue, userID: order.userID.rawValue, amountCents: order.totalCents,
                currency: order.currency, paymentMethod: order.paymentMethod)
            try await Outbox.enqueue(
                [
                    try created.record(topics: topics, time: order.createdAt),
                    try requested.record(topics: topics, time: order.createdAt),
                ], service: Self.role, in: database)
            return .created(order)
        }
    }

    public func find(_ id: OrderID) async throws -> Order? {
        try await store.withDatabase { database in try await Self.find(id.rawValue, in: database) }
    }

    public func find(user: UserID, idempotencyKey: String) async throws -> Order? {
        try await store.withDatabase { database in
            try await Self.find(user: user.rawValue, key: idempotencyKey, in: database)
        }
    }

    public func list(user: UserID?, status: OrderStatus?, offset: Int, limit: Int) async throws -> (
        orders: [Order], total: Int
    ) {
        try await store.withDatabase { database in
            var filter = SQLQueryString("1 = 1")
            if let user {
                filter.and("user_id", equals: user.rawValue)
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

    public func apply(_ event: OrderLifecycle.Event, to id: OrderID, eventID: String?, at now: Date) async throws -> Order? {
        let topics = self.topics
        return try await store.withTransaction { database -> Order? in
            if let eventID {
                guard try await Inbox.claim(eventID, consumer: Self.role, in: database) else { return nil }
            }
            guard let order = try await Self.find(id.rawValue, in: database) else { return nil }
            guard case .move(let status, let publication) = OrderLifecycle.transition(from: order.status, on: event) else {
                return nil
            }
            var paymentID: String?
            var reason: String?
            let record: EventRecord
            switch publication {
            case .confirmed(let payment):
                paymentID = payment.rawValue
                record = try OrderConfirmed(
                    orderID: id.rawValue, userID: order.userID.rawValue, totalCents: order.totalCents,
                    currency: order.currency, paymentID: payment.rawValue, confirmedAt: Timestamp.format(now)
                ).record(topics: topics, time: now)
            case .failed(let why):
                reason = why
                record = try OrderFailed(orderID: id.rawValue, userID: order.userID.rawValue, reason: why)
                    .record(topics: topics, time: now)
            case .cancelled(let why):
                reason = why
                record = try OrderCancelled(orderID: id.rawValue, userID: order.userID.rawValue, reason: why)
                    .record(topics: topics, time: now)
            }
            // The status read above must still hold: of two transitions racing (a payment and the sweeper), one wins.
            let changed = try await database.raw(
                """
                UPDATE orders SET status = \(bind: status.rawValue), payment_id = \(bind: paymentID), reason = \(bind: reason),
                    updated_at = \(bind: Timestamp.format(now))
                WHERE id = \(bind: id.rawValue) AND status = \(bind: order.status.rawValue)
                RETURNING id
                """
            ).all()
            guard !changed.isEmpty else { return nil }
            try await Outbox.enqueue([record], service: Self.role, in: database)
            var updated = order
            updated.status = status
            updated.paymentID = paymentID.map { PaymentID($0) }
            updated.reason = reason
            updated.updatedAt = now
            return updated
        }
    }

    public func expired(before now: Date, limit: Int) async throws -> [OrderID] {
        try await store.withDatabase { database in
            try await database.raw(
                """
                SELECT id FROM orders WHERE status = \(bind: OrderStatus.awaitingPayment.rawValue)
                AND expires_at < \(bind: Timestamp.format(now)) ORDER BY expires_at LIMIT \(bind: limit)
                """
            ).all().map { OrderID(try $0.decode(column: "id", as: String.self)) }
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
            id: OrderID(id),
            userID: UserID(try row.decode(column: "user_id", as: String.self)),
            status: OrderStatus(rawValue: try row.decode(column: "status", as: String.self)) ?? .failed,
            items: items,
            totalCents: try row.decode(column: "total_cents", as: Int.self),
            currency: try row.decode(column: "currency", as: String.self),
            paymentMethod: try row.decode(column: "payment_method", as: String.self),
            paymentID: try row.decode(column: "payment_id", as: String?.self).map { PaymentID($0) },
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
