import MeridianContracts

/// The carts role's own answer to its ``CartContents`` port, for the roles of this process.
public struct StoreCartContents: CartContents {
    let carts: any CartStore

    public init(carts: any CartStore) {
        self.carts = carts
    }

    public func lines(of user: UserID) async throws -> [StockRequest] {
        try await carts.lines(of: user.rawValue).map { StockRequest(productID: $0.product, quantity: $0.quantity) }
    }
}
