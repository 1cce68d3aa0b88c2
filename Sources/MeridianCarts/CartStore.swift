import Foundation
import MeridianContracts
import MeridianCore
import MeridianStorage
import SQLKit

/// The carts service's store (its port): each user's lines, and the lines orders took out of carts.
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
    /// Takes the user's lines into `order` (see ``CartContents/checkout(of:for:)``).
    func checkout(user: String, order: String) async throws -> [(product: ProductID, quantity: Int)]
    /// Puts back what `order` took, once per event id when one is given; returns how many lines came back.
    @discardableResult
    func restore(order: String, eventID: String?) async throws -> Int
    /// An order placed before checkouts existed (it left its lines in the cart): remembers them, once per event
    /// id, unless the order took its lines by checkout.
    func rememberOrderedLines(eventID: String, order: OrderCreated) async throws
    /// Ends an order's lines, once per event id: confirmed, what it took is gone for good (and remembered
    /// lines of an older order leave the cart); otherwise what it took comes back.
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
        // Lines an order took out of the cart at checkout (``checkout(user:order:)``). `cart_ordered_lines` keeps
        // the lines of orders placed before: those stayed in the cart and leave it on confirmation.
        Migration(
            version: 3, name: "cart_checkouts",
            [
                """
                CREATE TABLE cart_checkouts (
                    order_id TEXT NOT NULL, user_id TEXT NOT NULL, product_id TEXT NOT NULL, quantity BIGINT NOT NULL,
                    position INTEGER NOT NULL, PRIMARY KEY (order_id, product_id))
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

    /// Takes the user's lines into `order` in one transaction: they move to `cart_checkouts` and leave the
    /// cart. For an order that took its lines already, returns those and takes nothing more.
    public func checkout(user: String, order: String) async throws -> [(product: ProductID, quantity: Int)] {
        try await store.withTransaction { database in
            // The lines move in one statement, unless this order took its lines already (a retried call).
            let moved = try await database.raw(
                """
                INSERT INTO cart_checkouts (order_id, user_id, product_id, quantity, position)
                SELECT \(bind: order), user_id, product_id, quantity,
                    ROW_NUMBER() OVER (ORDER BY added_at, product_id) - 1
                FROM cart_lines
                WHERE user_id = \(bind: user)
                    AND NOT EXISTS (SELECT 1 FROM cart_checkouts WHERE order_id = \(bind: order))
                RETURNING product_id, quantity, position
                """
            ).all().map {
                (
                    product: ProductID(rawValue: try $0.decode(column: "product_id", as: String.self)),
                    quantity: try $0.decode(column: "quantity", as: Int.self),
                    position: try $0.decode(column: "position", as: Int.self)
                )
            }
            guard !moved.isEmpty else {
                return try await Self.checkedOut(order, in: database).map { ($0.product, $0.quantity) }
            }
            try await database.raw("DELETE FROM cart_lines WHERE user_id = \(bind: user)").run()
            return moved.sorted { $0.position < $1.position }.map { ($0.product, $0.quantity) }
        }
    }

    /// Puts back what `order` took: each line's quantity is added to the cart's line of that product (up to
    /// ``StockRequest/maxQuantity``), then the checkout is forgotten. Once per event id when one is given.
    @discardableResult
    public func restore(order: String, eventID: String?) async throws -> Int {
        try await store.withTransaction { database in
            if let eventID {
                guard try await Inbox.claim(eventID, consumer: "carts", in: database) else { return 0 }
            }
            return try await Self.restore(order, in: database)
        }
    }

    private static func restore(_ order: String, in database: any SQLDatabase) async throws -> Int {
        let taken = try await checkedOut(order, in: database)
        let now = Timestamp.format(Date())
        for line in taken {
            try await database.raw(
                """
                INSERT INTO cart_lines (user_id, product_id, quantity, added_at)
                VALUES (\(bind: line.user), \(bind: line.product.rawValue), \(bind: line.quantity), \(bind: now))
                ON CONFLICT (user_id, product_id) DO UPDATE
                SET quantity = CASE WHEN cart_lines.quantity > \(bind: StockRequest.maxQuantity) - excluded.quantity
                    THEN \(bind: StockRequest.maxQuantity) ELSE cart_lines.quantity + excluded.quantity END
                """
            ).run()
        }
        if !taken.isEmpty {
            try await database.raw("DELETE FROM cart_checkouts WHERE order_id = \(bind: order)").run()
        }
        return taken.count
    }

    private static func checkedOut(_ order: String, in database: any SQLDatabase) async throws
        -> [(user: String, product: ProductID, quantity: Int)]
    {
        try await database.raw(
            "SELECT user_id, product_id, quantity FROM cart_checkouts WHERE order_id = \(bind: order) ORDER BY position"
        ).all().map {
            (
                try $0.decode(column: "user_id", as: String.self),
                ProductID(rawValue: try $0.decode(column: "product_id", as: String.self)),
                try $0.decode(column: "quantity", as: Int.self)
            )
        }
    }

    /// Remembers the cart lines an order placed before checkouts existed was placed from (`order.created` with
    /// `from_cart`), once per event id; an order that took its lines by checkout needs nothing.
    public func rememberOrderedLines(eventID: String, order: OrderCreated) async throws {
        // An order placed now took its lines before its event was even written: nothing to do, no transaction.
        let orderID = order.orderID
        guard try await store.withDatabase({ try await Self.checkedOut(orderID, in: $0) }).isEmpty else { return }
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

    /// Ends an order's lines, once per event id. Confirmed: what it took at checkout is gone for good, and the
    /// remembered lines of an order placed before checkouts leave the cart (a line the user raised since keeps
    /// the difference). Failed or cancelled: what it took comes back to the cart. Returns how many lines changed.
    @discardableResult
    public func orderEnded(eventID: String, order: String, confirmed: Bool) async throws -> Int {
        try await store.withTransaction { database in
            guard try await Inbox.claim(eventID, consumer: "carts", in: database) else { return 0 }
            var changed = 0
            if confirmed {
                changed += try await database.raw(
                    "DELETE FROM cart_checkouts WHERE order_id = \(bind: order) RETURNING product_id"
                ).all().count
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
                if !lines.isEmpty {
                    try await database.raw("DELETE FROM cart_ordered_lines WHERE order_id = \(bind: order)").run()
                }
            } else {
                changed += try await Self.restore(order, in: database)
                try await database.raw("DELETE FROM cart_ordered_lines WHERE order_id = \(bind: order)").run()
            }
            return changed
        }
    }
}
