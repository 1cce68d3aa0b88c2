/// The carts service as the orders service sees it: ordering a cart takes its lines out of it, and an order
/// that does not go through gives them back.
///
/// Both calls are idempotent per order, so a caller may retry them.
public protocol CartContents: Sendable {
    /// Takes the user's lines into `order` (they leave the cart at once, so a second order cannot include them)
    /// and returns them; empty when the cart is. Called again for the same order, returns what it took then.
    func checkout(of user: UserID, for order: OrderID) async throws -> [StockRequest]
    /// Puts back what ``checkout(of:for:)`` took for `order` (the order was refused, failed or was cancelled);
    /// nothing when it took nothing or gave it back already.
    func restore(order: OrderID) async throws
}
