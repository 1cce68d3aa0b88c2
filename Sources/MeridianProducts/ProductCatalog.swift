import Foundation

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

/// The products service as other services see it: reading products and holding stock for orders.
///
/// In all-in-one mode the in-process ``StoreProductCatalog`` answers; split mode will answer over HTTP.
public protocol ProductCatalog: Sendable {
    /// The product, or nil when it does not exist or was deleted.
    func product(_ id: ProductID) async throws -> ProductSummary?

    /// Holds every requested unit for `order` until `expiresAt`, all or none (see ``ProductStore/reserve(order:items:expiresAt:)``).
    func reserve(order: String, items: [StockRequest], expiresAt: Date) async throws -> ReservationOutcome

    /// Gives back what `order` holds, when the order will not be written after all.
    func release(order: String) async throws
}

/// The catalog answered in process by the products service's own store.
public struct StoreProductCatalog: ProductCatalog {
    let products: ProductStore

    public init(products: ProductStore) {
        self.products = products
    }

    public func product(_ id: ProductID) async throws -> ProductSummary? {
        try await products.find(id).map(ProductSummary.init)
    }

    public func reserve(order: String, items: [StockRequest], expiresAt: Date) async throws -> ReservationOutcome {
        try await products.reserve(order: order, items: items, expiresAt: expiresAt)
    }

    public func release(order: String) async throws {
        try await products.release(order: order)
    }
}
