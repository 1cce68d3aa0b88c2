import Foundation
import MeridianContracts

/// The products role's own answer to its ``ProductCatalog`` port, for the roles of this process.
public struct StoreProductCatalog: ProductCatalog {
    let products: any ProductStore

    public init(products: any ProductStore) {
        self.products = products
    }

    public func product(_ id: ProductID) async throws -> ProductSummary? {
        try await products.find(id).map(ProductSummary.init)
    }

    public func reserve(order: OrderID, items: [StockRequest], expiresAt: Date) async throws -> ReservationOutcome {
        try await products.reserve(order: order, items: items, expiresAt: expiresAt)
    }

    public func release(order: OrderID) async throws {
        try await products.release(order: order)
    }
}
