import Foundation

/// The `data` of the commerce events in CONTRACTS.md, field for field (snake_case on the wire).
///
/// A few events carry one more field than the contract lists (marked below); consumers that do not
/// know it ignore it, as JSON consumers do.
public enum CommerceEvent {
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

    /// `order.created`. Extra field: `from_cart`, true when the order was placed from the cart (so the
    /// carts service clears those lines once the order is confirmed).
    public struct OrderCreated: Codable, Sendable, Hashable {
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

    /// `order.confirmed`.
    public struct OrderConfirmed: Codable, Sendable, Hashable {
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

    /// `order.failed` and `order.cancelled`.
    public struct OrderEnded: Codable, Sendable, Hashable {
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

    /// `payment.requested`. Extra field: `payment_method`, the provider's token for the customer's
    /// payment method (for example `pm_card_visa`).
    public struct PaymentRequested: Codable, Sendable, Hashable {
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

    /// `payment.succeeded`.
    public struct PaymentSucceeded: Codable, Sendable, Hashable {
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

    /// `payment.failed`.
    public struct PaymentFailed: Codable, Sendable, Hashable {
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

    /// `payment.refunded` (Meridian's own addition to the contract, on its own topic): a payment that
    /// succeeded for an order that had been cancelled was given back.
    public struct PaymentRefunded: Codable, Sendable, Hashable {
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

    /// `product.deleted`.
    public struct ProductDeleted: Codable, Sendable, Hashable {
        public var productID: String
        public var deletedAt: String

        public init(productID: String, deletedAt: String) {
            self.productID = productID
            self.deletedAt = deletedAt
        }

        enum CodingKeys: String, CodingKey {
            case productID = "product_id"
            case deletedAt = "deleted_at"
        }
    }
}

/// The data of an event could not be read as the type its `type` names.
public struct UnreadableEvent: Error, CustomStringConvertible {
    public var eventID: String
    public var type: String
    public var reason: String

    public init(eventID: String, type: String, reason: String) {
        self.eventID = eventID
        self.type = type
        self.reason = reason
    }

    public var description: String { "event \(eventID) (\(type)) is unreadable: \(reason)" }
}

extension CloudEvent {
    /// A new event of one of Meridian's roles: a fresh id, `source` `/meridian/<role>`, JSON `data`.
    public static func domain(type: String, role: String, data: some Encodable, time: Date = Date()) throws -> CloudEvent {
        CloudEvent(
            id: RandomID.uuidString(), source: "/meridian/\(role)", type: type, time: time,
            data: Array(try JSONEncoder().encode(data)))
    }

    /// The `data` decoded as `T`; throws ``UnreadableEvent`` when it does not fit.
    public func decodeData<T: Decodable>(_: T.Type) throws -> T {
        do {
            return try JSONDecoder().decode(T.self, from: Data(data))
        } catch {
            throw UnreadableEvent(eventID: id, type: type, reason: "\(error)")
        }
    }
}
