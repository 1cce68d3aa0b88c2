import MeridianCore

/// A line of an order: the product's name and unit price as they were when the order was placed.
public struct OrderItem: Codable, Sendable, Hashable {
    public var productID: String
    public var name: String
    public var unitPriceCents: Int
    public var quantity: Int

    public init(productID: String, name: String, unitPriceCents: Int, quantity: Int) {
        self.productID = productID
        self.name = name
        self.unitPriceCents = unitPriceCents
        self.quantity = quantity
    }

    enum CodingKeys: String, CodingKey {
        case name, quantity
        case productID = "product_id"
        case unitPriceCents = "unit_price_cents"
    }
}

/// `order.created` on `orders`. Extra field: `from_cart`, true when the order was placed from the cart (so the
/// carts service clears those lines once the order is confirmed).
public struct OrderCreated: DomainEvent {
    public static let type = EventType(rawValue: "order.created")
    public static let role = "orders"
    public static func topic(in topics: Topics) -> String { topics.orders }
    public var aggregateID: String { orderID }

    public var orderID: String
    public var userID: String
    public var items: [OrderItem]
    public var totalCents: Int
    public var currency: String
    public var createdAt: String
    public var fromCart: Bool?

    public init(
        orderID: String, userID: String, items: [OrderItem], totalCents: Int, currency: String, createdAt: String,
        fromCart: Bool?
    ) {
        self.orderID = orderID
        self.userID = userID
        self.items = items
        self.totalCents = totalCents
        self.currency = currency
        self.createdAt = createdAt
        self.fromCart = fromCart
    }

    enum CodingKeys: String, CodingKey {
        case items, currency
        case orderID = "order_id"
        case userID = "user_id"
        case totalCents = "total_cents"
        case createdAt = "created_at"
        case fromCart = "from_cart"
    }
}

/// `order.confirmed` on `orders`: paid.
public struct OrderConfirmed: DomainEvent {
    public static let type = EventType(rawValue: "order.confirmed")
    public static let role = "orders"
    public static func topic(in topics: Topics) -> String { topics.orders }
    public var aggregateID: String { orderID }

    public var orderID: String
    public var userID: String
    public var totalCents: Int
    public var currency: String
    public var paymentID: String
    public var confirmedAt: String

    public init(orderID: String, userID: String, totalCents: Int, currency: String, paymentID: String, confirmedAt: String) {
        self.orderID = orderID
        self.userID = userID
        self.totalCents = totalCents
        self.currency = currency
        self.paymentID = paymentID
        self.confirmedAt = confirmedAt
    }

    enum CodingKeys: String, CodingKey {
        case currency
        case orderID = "order_id"
        case userID = "user_id"
        case totalCents = "total_cents"
        case paymentID = "payment_id"
        case confirmedAt = "confirmed_at"
    }
}

/// `order.failed` on `orders`: the payment was declined.
public struct OrderFailed: DomainEvent {
    public static let type = EventType(rawValue: "order.failed")
    public static let role = "orders"
    public static func topic(in topics: Topics) -> String { topics.orders }
    public var aggregateID: String { orderID }

    public var orderID: String
    public var userID: String
    public var reason: String

    public init(orderID: String, userID: String, reason: String) {
        self.orderID = orderID
        self.userID = userID
        self.reason = reason
    }

    enum CodingKeys: String, CodingKey {
        case reason
        case orderID = "order_id"
        case userID = "user_id"
    }
}

/// `order.cancelled` on `orders`: not paid in time (reason `reservation_expired`).
public struct OrderCancelled: DomainEvent {
    public static let type = EventType(rawValue: "order.cancelled")
    public static let role = "orders"
    public static func topic(in topics: Topics) -> String { topics.orders }
    public var aggregateID: String { orderID }

    public var orderID: String
    public var userID: String
    public var reason: String

    public init(orderID: String, userID: String, reason: String) {
        self.orderID = orderID
        self.userID = userID
        self.reason = reason
    }

    enum CodingKeys: String, CodingKey {
        case reason
        case orderID = "order_id"
        case userID = "user_id"
    }
}
