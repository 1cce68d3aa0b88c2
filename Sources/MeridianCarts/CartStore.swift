import Foundation
import MeridianContracts
import MeridianCore
import MeridianStorage
import SQLKit

/// The carts service's store (its port): each user's lines, and the lines an order was placed from.
public protocol CartStore: Sendable {
    /// The user's lines, oldest first.
    func lines(of user: String) async throws -> [(product: ProductID, quantity: Int)]
    /// Adds to the line of `product` (creating it); the new quantity, or nil when the cart is full.
    func add(_ quantity: Int, of product: ProductID, for user: String, maxQuantity: Int, maxLines: Int) async throws -> Int?
    /// Sets the line's quantity; 0 removes it. False when there was no such line.
    func set(_ quantity: Int, of product: ProductID, for user: String) async throws -> Bool
    func clear(for user: String) async throws
    /// Removes every cart's line of a deleted product, once per event id.
    func applyProductDeleted(eventID: String, product: ProductID) async throws -> Bool
    /// Remembers the lines an order was placed from, once per event id.
    func rememberOrderedLines(eventID: String, order: OrderCreated) async throws
    /// Ends an order's remembered lines, once per event id (confirmed: they leave the cart).
    @discardableResult
    func orderEnded(eventID: String, order: String, confirmed: Bool) async throws -> Int
}

extension CartStore {
    /// Adds with the contract's limits (``StockRequest/maxQuantity`` per line, ``StockRequest/maxLines`` lines).
    public func add(_ quantity: Int, of product: ProductID, for user: String) async throws -> Int? {
        try await add(quantity, of: product, for: user, maxQuantity: StockRequest.maxQuantity, maxLines: StockRequest.maxLines)
    }
}

/// The carts service's table: one row per (user, product) with its quantity.
public struct SQLCartStore: CartStore {
    public static let migrations: [Migration] = [
        Migration(
            version: 1, name: "cart_lines",
            [
                """
                CREATE TABLE cart_lines (
                    user_id TEXT NOT NULL, product_id TEXT NOT NULL, quantity BIGINT NOT NULL CHECK (quantity > 0),
                    added_at TEXT NOT NULL, PRIMARY KEY (user_id, product_id))
                """,
                "CREATE INDEX cart_lines_product ON cart_lines (product_id)",
            ]),
        Migration(
            version: 2, name: "cart_ordered_lines",
            [
                """
                CREATE TABLE cart_ordered_lines (
                    order_id TEXT NOT NULL, user_id TEXT NOT NULL, product_id TEXT NOT NULL, quantity BIGINT NOT NULL,
                    PRIMARY KEY (order_id, product_id))
                """
            ]),
    ]

    public let store: any SQLStore

    public init(store: any SQLStore) {
        self.store = store
    }

    /// The user's lines, oldest first, as (product, quantity).
    public func lines(of user: String) async throws -> [(product: ProductID, quantity: Int)] {
        try await store.withDatabase { database in
            try await database.raw(
                "SELECT product_id, quantity FROM cart_lines WHERE user_id = \(bind: user) ORDER BY added_at, product_id"
            ).all().map {
                (
                    ProductID(rawValue: try $0.decode(column: "product_id", as: String.self)),
                    try $0.decode(column: "quantity", as: Int.self)
                )
            }
        }
    }

    /// Adds `quantity` to the line of `product` (creating it), in one transaction: returns the new quantity,
    /// capped at `maxQuantity` (a larger sum is stored as the cap and returned as asked, so the caller can
    /// refuse it); nil, with nothing changed, when the line is new and the cart already has `maxLines` lines.
    public func add(
        _ quantity: Int, of product: ProductID, for user: String, maxQuantity: Int = StockRequest.maxQuantity,
        maxLines: Int = StockRequest.maxLines
    ) async throws
        -> Int?
    {
        try await store.withTransaction { database in
            let current = try await database.raw(
                "SELECT quantity FROM cart_lines WHERE user_id = \(bind: user) AND product_id = \(bind: product.rawValue)"
            ).first()?.decode(column: "quantity", as: Int.self)
            if current == nil {
                let lines =
                    try await database.raw("SELECT COUNT(*) AS lines FROM cart_lines WHERE user_id = \(bind: user)")
                    .first()?.decode(column: "lines", as: Int.self) ?? 0
                guard lines < maxLines else { return nil }
            }
            let (wanted, overflow) = (current ?? 0).addingReportingOverflow(quantity)
            let stored = overflow ? maxQuantity : min(wanted, maxQuantity)
            try await database.raw(
                """
                INSERT INTO cart_lines (user_id, product_id, quantity, added_at)
                VALUES (\(bind: user), \(bind: product.rawValue), \(bind: stored), \(bind: Timestamp.format(Date())))
                ON CONFLICT (user_id, product_id) DO UPDATE SET quantity = excluded.quantity
                """
            ).run()
            return overflow ? Int.max : wanted
        }
    }

    /// Sets the line's quantity; 0 removes it. Returns false when there was no such line.
    public func set(_ quantity: Int, of product: ProductID, for user: String) async throws -> Bool {
        try await store.withTransaction { database in
            let exists =
                try await database.raw(
                    "SELECT quantity FROM cart_lines WHERE user_id = \(bind: user) AND product_id = \(bind: product.rawValue)"
                ).first() != nil
            guard exists else { return false }
            if quantity == 0 {
                try await database.raw(
                    "DELETE FROM cart_lines WHERE user_id = \(bind: user) AND product_id = \(bind: product.rawValue)"
                ).run()
            } else {
                try await database.raw(
                    """
                    UPDATE cart_lines SET quantity = \(bind: quantity)
                    WHERE user_id = \(bind: user) AND product_id = \(bind: product.rawValue)
                    """
                ).run()
            }
            return true
        }
    }

    public func clear(for user: String) async throws {
        try await store.withTransaction { database in
            try await database.raw("DELETE FROM cart_lines WHERE user_id = \(bind: user)").run()
        }
    }

    /// Applies one `product.deleted` event: removes every cart's line of that product, once per event id.
    /// Returns false when the event had been applied before.
    public func applyProductDeleted(eventID: String, product: ProductID) async throws -> Bool {
        try await store.withTransaction { database in
            guard try await Inbox.claim(eventID, consumer: "carts", in: database) else { return false }
            try await database.raw("DELETE FROM cart_lines WHERE product_id = \(bind: product.rawValue)").run()
            return true
        }
    }

    /// Remembers the cart lines an order was placed from (`order.created` with `from_cart`), once per event id.
    public func rememberOrderedLines(eventID: String, order: OrderCreated) async throws {
        try await store.withTransaction { database in
            guard try await Inbox.claim(eventID, consumer: "carts", in: database) else { return }
            for item in order.items {
                try await database.raw(
                    """
                    INSERT INTO cart_ordered_lines (order_id, user_id, product_id, quantity)
                    VALUES (\(bind: order.orderID), \(bind: order.userID), \(bind: item.productID), \(bind: item.quantity))
                    ON CONFLICT (order_id, product_id) DO NOTHING
                    """
                ).run()
            }
        }
    }

    /// Ends an order's remembered lines, once per event id: when `confirmed`, the ordered quantities leave
    /// the cart (a line the user raised since keeps the difference); otherwise the cart stays as it is.
    /// Returns how many cart lines changed.
    @discardableResult
    public func orderEnded(eventID: String, order: String, confirmed: Bool) async throws -> Int {
        try await store.withTransaction { database in
            guard try await Inbox.claim(eventID, consumer: "carts", in: database) else { return 0 }
            var changed = 0
            if confirmed {
                let lines = try await database.raw(
                    "SELECT user_id, product_id, quantity FROM cart_ordered_lines WHERE order_id = \(bind: order)"
                ).all()
                for line in lines {
                    let user = try line.decode(column: "user_id", as: String.self)
                    let product = try line.decode(column: "product_id", as: String.self)
                    let quantity = try line.decode(column: "quantity", as: Int.self)
                    try await database.raw(
                        """
                        DELETE FROM cart_lines
                        WHERE user_id = \(bind: user) AND product_id = \(bind: product) AND quantity <= \(bind: quantity)
                        """
                    ).run()
                    try await database.raw(
                        """
                        UPDATE cart_lines SET quantity = quantity - \(bind: quantity)
                        WHERE user_id = \(bind: user) AND product_id = \(bind: product)
                        """
                    ).run()
                    changed += 1
                }
            }
            try await database.raw("DELETE FROM cart_ordered_lines WHERE order_id = \(bind: order)").run()
            return changed
        }
    }
}
