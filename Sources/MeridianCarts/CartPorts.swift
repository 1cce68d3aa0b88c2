import MeridianContracts

/// The carts role's own answer to its ``CartContents`` port, for the roles of this process.
public struct StoreCartContents: CartContents {
    let carts: any CartStore

    public init(carts: any CartStore) {
        self.carts = carts
    }

    public func checkout(of user: UserID, for order: OrderID) async throws -> [StockRequest] {
        try await carts.checkout(user: user.rawValue, order: order.rawValue).map {
            StockRequest(productID: $0.product, quantity: $0.quantity)
        }
    }

    public func restore(order: OrderID) async throws {
        try await carts.restore(order: order.rawValue, eventID: nil)
    }
}
