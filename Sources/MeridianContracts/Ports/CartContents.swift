/// The carts service as the orders service sees it: what the user's cart holds.
public protocol CartContents: Sendable {
    func lines(of user: UserID) async throws -> [StockRequest]
}
