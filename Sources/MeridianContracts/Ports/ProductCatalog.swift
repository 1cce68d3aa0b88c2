import Foundation
import MeridianCore

/// The products service as the other roles see it: reading products and holding stock for orders.
/// In all-in-one mode the products role answers in process; in split mode over HTTP.
public protocol ProductCatalog: Sendable {
    /// The product, or nil when it does not exist or was deleted.
    func product(_ id: ProductID) async throws -> ProductSummary?

    /// Holds every requested unit for `order` until `expiresAt`, all or none. Holding for an order that
    /// already holds returns what it holds (a retried call reserves nothing twice).
    func reserve(order: OrderID, items: [StockRequest], expiresAt: Date) async throws -> ReservationOutcome

    /// Gives back what `order` holds, when the order will not be written after all.
    func release(order: OrderID) async throws
}

/// What other services may know of a product: they ask the products service, never its tables.
public struct ProductSummary: Sendable, Hashable, Codable {
    public var id: ProductID
    public var name: String
    public var priceCents: Int
    public var currency: String
    public var available: Int

    enum CodingKeys: String, CodingKey {
        case id, name, currency, available
        case priceCents = "price_cents"
    }

    public init(id: ProductID, name: String, priceCents: Int, currency: String, available: Int) {
        self.id = id
        self.name = name
        self.priceCents = priceCents
        self.currency = currency
        self.available = available
    }
}

/// So many units of a product, asked for by an order.
public struct StockRequest: Sendable, Hashable, Codable {
    public var productID: ProductID
    public var quantity: Int

    public init(productID: ProductID, quantity: Int) {
        self.productID = productID
        self.quantity = quantity
    }

    enum CodingKeys: String, CodingKey {
        case quantity
        case productID = "product_id"
    }

    /// Most lines of one order (and products in one cart), and most units of one line.
    public static let maxLines = 100
    public static let maxQuantity = 1000

    /// The rules for the lines of an order, whoever sends them (a customer, or another service): 1 to
    /// ``maxLines`` lines, each a product id (text, at most 100 characters, no control characters) and a
    /// quantity of 1 to ``maxQuantity``. A violation names the line's field (`items.2.quantity`).
    public static func validate(_ items: [StockRequest], field: String = "items") throws(FieldViolation) {
        guard (1...maxLines).contains(items.count) else {
            throw FieldViolation(field: field, "must hold 1 to \(maxLines) lines")
        }
        for (index, item) in items.enumerated() {
            _ = try TextRules.check(item.productID.rawValue, field: "\(field).\(index).product_id", maxCharacters: 100)
            _ = try CheckedMath.within(item.quantity, 1...maxQuantity, field: "\(field).\(index).quantity")
        }
    }
}

/// Units of a product held for an order, with the product as it was when they were taken (the name and
/// price an order snapshots).
public struct ReservedItem: Sendable, Hashable, Codable {
    public var product: ProductSummary
    public var quantity: Int

    public init(product: ProductSummary, quantity: Int) {
        self.product = product
        self.quantity = quantity
    }
}

/// What a reservation came to: every unit held, or the first reason none is.
public enum ReservationOutcome: Sendable, Hashable {
    /// Every item is held.
    case reserved([ReservedItem])
    /// This product has fewer units available than asked; nothing is held.
    case shortOfStock(ProductID, requested: Int, available: Int)
    /// No such product (or it was deleted); nothing is held.
    case unknownProduct(ProductID)
}
