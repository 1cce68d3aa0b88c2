import MeridianCore

/// `payment.requested` on its own topic, written by orders. Extra field: `payment_method`, the provider's
/// token for the customer's payment method (for example `pm_card_visa`).
public struct PaymentRequested: DomainEvent {
    public static let type = EventType(rawValue: "payment.requested")
    public static let role = "orders"
    public static func topic(in topics: Topics) -> String { topics.paymentRequested }
    public var aggregateID: String { orderID }

    public var orderID: String
    public var userID: String
    public var amountCents: Int
    public var currency: String
    public var paymentMethod: String?

    public init(orderID: String, userID: String, amountCents: Int, currency: String, paymentMethod: String?) {
        self.orderID = orderID
        self.userID = userID
        self.amountCents = amountCents
        self.currency = currency
        self.paymentMethod = paymentMethod
    }

    enum CodingKeys: String, CodingKey {
        case currency
        case orderID = "order_id"
        case userID = "user_id"
        case amountCents = "amount_cents"
        case paymentMethod = "payment_method"
    }
}

/// `payment.succeeded` on its own topic.
public struct PaymentSucceeded: DomainEvent {
    public static let type = EventType(rawValue: "payment.succeeded")
    public static let role = "payments"
    public static func topic(in topics: Topics) -> String { topics.paymentSucceeded }
    public var aggregateID: String { orderID }

    public var orderID: String
    public var paymentID: String
    public var amountCents: Int
    public var currency: String
    public var processedAt: String

    public init(orderID: String, paymentID: String, amountCents: Int, currency: String, processedAt: String) {
        self.orderID = orderID
        self.paymentID = paymentID
        self.amountCents = amountCents
        self.currency = currency
        self.processedAt = processedAt
    }

    enum CodingKeys: String, CodingKey {
        case currency
        case orderID = "order_id"
        case paymentID = "payment_id"
        case amountCents = "amount_cents"
        case processedAt = "processed_at"
    }
}

/// `payment.failed` on its own topic.
public struct PaymentFailed: DomainEvent {
    public static let type = EventType(rawValue: "payment.failed")
    public static let role = "payments"
    public static func topic(in topics: Topics) -> String { topics.paymentFailed }
    public var aggregateID: String { orderID }

    public var orderID: String
    public var reason: String

    public init(orderID: String, reason: String) {
        self.orderID = orderID
        self.reason = reason
    }

    enum CodingKeys: String, CodingKey {
        case reason
        case orderID = "order_id"
    }
}

/// `payment.refunded` (Meridian's own addition to the contract, on its own topic): a payment that succeeded
/// for an order that had been cancelled was given back.
public struct PaymentRefunded: DomainEvent {
    public static let type = EventType(rawValue: "payment.refunded")
    public static let role = "payments"
    public static func topic(in topics: Topics) -> String { topics.paymentRefunded }
    public var aggregateID: String { orderID }

    public var orderID: String
    public var paymentID: String
    public var amountCents: Int
    public var currency: String
    public var refundedAt: String

    public init(orderID: String, paymentID: String, amountCents: Int, currency: String, refundedAt: String) {
        self.orderID = orderID
        self.paymentID = paymentID
        self.amountCents = amountCents
        self.currency = currency
        self.refundedAt = refundedAt
    }

    enum CodingKeys: String, CodingKey {
        case currency
        case orderID = "order_id"
        case paymentID = "payment_id"
        case amountCents = "amount_cents"
        case refundedAt = "refunded_at"
    }
}
