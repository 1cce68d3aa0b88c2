/// What other services may know of a product: they ask the products service, never its tables.
public struct ProductSummary: Sendable, Hashable {
    public var id: ProductID
    public var name: String
    public var priceCents: Int
    public var currency: String
    public var available: Int
}

/// The products service as other services see it.
///
/// In all-in-one mode the in-process ``StoreProductCatalog`` answers; split mode will answer over HTTP.
public protocol ProductCatalog: Sendable {
    /// The product, or nil when it does not exist or was deleted.
    func product(_ id: ProductID) async throws -> ProductSummary?
}

/// The catalog answered in process by the products service's own store.
public struct StoreProductCatalog: ProductCatalog {
    let products: ProductStore

    public init(products: ProductStore) {
        self.products = products
    }

    public func product(_ id: ProductID) async throws -> ProductSummary? {
        try await products.find(id).map {
            ProductSummary(id: $0.id, name: $0.name, priceCents: $0.priceCents, currency: $0.currency, available: $0.available)
        }
    }
}
