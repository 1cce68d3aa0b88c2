import Foundation
import MeridianContracts
import MeridianCore
import MeridianStorage
import SQLKit

/// A product of the catalog. Money is integer minor units with an ISO 4217 currency.
public struct Product: Sendable, Hashable {
    public var id: ProductID
    public var name: String
    public var description: String
    public var category: String
    public var priceCents: Int
    public var currency: String
    /// Units on hand, the reserved ones included.
    public var stock: Int
    /// Units held for orders awaiting payment.
    public var reserved: Int
    /// Units of confirmed orders (taken out of `stock`): `stock + sold` only changes by admin adjustments.
    public var sold: Int = 0
    public var deleted: Bool
    public var createdAt: Date

    /// What can still be ordered.
    public var available: Int { stock - reserved }

    public init(
        id: ProductID, name: String, description: String, category: String, priceCents: Int, currency: String, stock: Int,
        reserved: Int, sold: Int = 0, deleted: Bool, createdAt: Date
    ) {
        self.id = id
        self.name = name
        self.description = description
        self.category = category
        self.priceCents = priceCents
        self.currency = currency
        self.stock = stock
        self.reserved = reserved
        self.sold = sold
        self.deleted = deleted
        self.createdAt = createdAt
    }
}

/// How the public list is filtered, sorted and paged.
public struct ProductQuery: Sendable {
    public enum Sort: String, Sendable, CaseIterable {
        case name, price, newest
        case priceDescending = "-price"
    }

    public var category: String?
    public var minPriceCents: Int?
    public var maxPriceCents: Int?
    public var text: String?
    public var sort: Sort = .name
    public var offset = 0
    public var limit = 20

    public init() {}
}

/// The products service's store (its port): the catalog, the stock and its reservations.
public protocol ProductStore: Sendable {
    func insert(_ product: Product) async throws
    /// A product that is not deleted.
    func find(_ id: ProductID) async throws -> Product?
    /// Saves name, description, category and price of `product`.
    func update(_ product: Product) async throws
    /// Adds `delta` to the stock, keeping it between what is reserved and `max`.
    func adjustStock(_ id: ProductID, by delta: Int, max: Int) async throws -> StockAdjustment
    /// Marks the product deleted with `product.deleted`; false when there was no such product.
    func softDelete(_ id: ProductID, topics: Topics) async throws -> Bool
    /// A page of the products that match, and how many match in all.
    func list(_ query: ProductQuery) async throws -> (products: [Product], total: Int)
    /// Holds every requested unit for `order`, all or none (a retried call holds nothing twice).
    func reserve(order: OrderID, items: [StockRequest], expiresAt: Date) async throws -> ReservationOutcome
    /// Ends `order`'s held reservations (`commit`: sold; else released), once per event id.
    func endReservations(of order: String, commit: Bool, eventID: String) async throws -> Bool
    /// Gives back whatever `order` still holds.
    func release(order: OrderID) async throws
    /// Releases reservations still held after `cutoff`; returns how many orders' holds were released.
    func releaseExpired(before cutoff: Date) async throws -> Int
}

/// What a stock adjustment came to.
public enum StockAdjustment: Sendable, Hashable {
    case adjusted(Product)
    case notFound
    /// The stock would fall below what is reserved.
    case belowReserved(stock: Int, reserved: Int)
    /// The stock would exceed the most a product may hold.
    case aboveMaximum(stock: Int)
}

/// The products service's tables, on the `SQLStore` port (SQLite or PostgreSQL).
public struct SQLProductStore: ProductStore {
    public static let migrations: [Migration] = [
        Migration(
            version: 1, name: "products",
            [
                """
                CREATE TABLE products (
                    id TEXT PRIMARY KEY, name TEXT NOT NULL, description TEXT NOT NULL, category TEXT NOT NULL,
                    price_cents BIGINT NOT NULL CHECK (price_cents >= 0), currency TEXT NOT NULL,
                    stock BIGINT NOT NULL CHECK (stock >= 0), reserved BIGINT NOT NULL CHECK (reserved >= 0),
                    deleted BOOLEAN NOT NULL, created_at TEXT NOT NULL, deleted_at TEXT)
                """,
                "CREATE INDEX products_category ON products (category)",
            ]),
        Migration(
            version: 2, name: "stock_reservations",
            [
                "ALTER TABLE products ADD COLUMN sold BIGINT NOT NULL DEFAULT 0 CHECK (sold >= 0)",
                """
                CREATE TABLE stock_reservations (
                    order_id TEXT NOT NULL, product_id TEXT NOT NULL, quantity BIGINT NOT NULL CHECK (quantity > 0),
                    state TEXT NOT NULL, expires_at TEXT NOT NULL, updated_at TEXT NOT NULL,
                    PRIMARY KEY (order_id, product_id))
                """,
                "CREATE INDEX stock_reservations_held ON stock_reservations (state, expires_at)",
            ]),
        imageMigration,
    ]

    public let store: any SQLStore

    public init(store: any SQLStore) {
        self.store = store
    }

    public func insert(_ product: Product) async throws {
        try await store.withTransaction { database in
            try await database.raw(
                """
                INSERT INTO products (id, name, description, category, price_cents, currency, stock, reserved, deleted, created_at)
                VALUES (\(bind: product.id.rawValue), \(bind: product.name), \(bind: product.description),
                        \(bind: product.category), \(bind: product.priceCents), \(bind: product.currency),
                        \(bind: product.stock), \(bind: product.reserved), \(bind: false), \(bind: Timestamp.format(product.createdAt)))
                """
            ).run()
        }
    }

    /// A product that is not deleted.
    public func find(_ id: ProductID) async throws -> Product? {
        try await store.withDatabase { database in
            try await Self.find(id, in: database)
        }
    }

    static func find(_ id: ProductID, in database: any SQLDatabase) async throws -> Product? {
        try await database.raw("SELECT * FROM products WHERE id = \(bind: id.rawValue) AND deleted = \(bind: false)")
            .first().map(Self.product)
    }

    /// Saves name, description, category and price of `product`.
    public func update(_ product: Product) async throws {
        try await store.withTransaction { database in
            try await database.raw(
                """
                UPDATE products SET name = \(bind: product.name), description = \(bind: product.description),
                    category = \(bind: product.category), price_cents = \(bind: product.priceCents),
                    currency = \(bind: product.currency)
                WHERE id = \(bind: product.id.rawValue) AND deleted = \(bind: false)
                """
            ).run()
        }
    }

    /// Adds `delta` to the stock in one transaction, keeping it between what is reserved and `max`. The sum is
    /// checked before it reaches SQL (SQLite would turn an overflow into a floating-point value, PostgreSQL
    /// into an error).
    public func adjustStock(_ id: ProductID, by delta: Int, max: Int) async throws -> StockAdjustment {
        try await store.withTransaction { database in
            guard let product = try await Self.find(id, in: database) else { return .notFound }
            let (stock, overflow) = product.stock.addingReportingOverflow(delta)
            guard !overflow, stock <= max else { return .aboveMaximum(stock: product.stock) }
            guard stock >= product.reserved else { return .belowReserved(stock: product.stock, reserved: product.reserved) }
            try await database.raw(
                "UPDATE products SET stock = \(bind: stock) WHERE id = \(bind: id.rawValue)"
            ).run()
            return try await Self.find(id, in: database).map(StockAdjustment.adjusted) ?? .notFound
        }
    }

    /// Marks the product deleted and, in the same transaction, puts `product.deleted` in the outbox.
    /// Returns false when there was no such product.
    public func softDelete(_ id: ProductID, topics: Topics) async throws -> Bool {
        try await store.withTransaction { database in
            guard try await Self.find(id, in: database) != nil else { return false }
            let now = Date()
            try await database.raw(
                """
                UPDATE products SET deleted = \(bind: true), deleted_at = \(bind: Timestamp.format(now))
                WHERE id = \(bind: id.rawValue)
                """
            ).run()
            let deleted = ProductDeleted(productID: id.rawValue, deletedAt: Timestamp.format(now))
            try await Outbox.enqueue([try deleted.record(topics: topics, time: now)], service: "products", in: database)
            return true
        }
    }

    /// A page of the products that match, and how many match in all.
    public func list(_ query: ProductQuery) async throws -> (products: [Product], total: Int) {
        try await store.withDatabase { database in
            var filter = SQLQueryString("deleted = \(bind: false)")
            if let category = query.category {
                filter.and("category", equals: category)
            }
            if let min = query.minPriceCents {
                filter.appendInterpolation(unsafeRaw: " AND price_cents >= ")
                filter.appendInterpolation(bind: min)
            }
            if let max = query.maxPriceCents {
                filter.appendInterpolation(unsafeRaw: " AND price_cents <= ")
                filter.appendInterpolation(bind: max)
            }
            if let text = query.text?.lowercased(), !text.isEmpty {
                let pattern =
                    "%"
                    + text.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "%", with: "\\%")
                    .replacingOccurrences(of: "_", with: "\\_") + "%"
                filter.appendInterpolation(unsafeRaw: " AND (LOWER(name) LIKE ")
                filter.appendInterpolation(bind: pattern)
                filter.appendInterpolation(unsafeRaw: " ESCAPE '\\' OR LOWER(description) LIKE ")
                filter.appendInterpolation(bind: pattern)
                filter.appendInterpolation(unsafeRaw: " ESCAPE '\\')")
            }
            let order: String
            switch query.sort {
            case .name: order = "name, id"
            case .price: order = "price_cents, id"
            case .priceDescending: order = "price_cents DESC, id"
            case .newest: order = "created_at DESC, id"
            }
            let products = try await database.raw(
                "SELECT * FROM products WHERE \(filter) ORDER BY \(unsafeRaw: order) LIMIT \(bind: query.limit) OFFSET \(bind: query.offset)"
            ).all().map(Self.product)
            let total =
                try await database.raw("SELECT COUNT(*) AS total FROM products WHERE \(filter)").first()?
                .decode(column: "total", as: Int.self) ?? 0
            return (products, total)
        }
    }

    static func product(_ row: any SQLRow) throws -> Product {
        Product(
            id: ProductID(rawValue: try row.decode(column: "id", as: String.self)),
            name: try row.decode(column: "name", as: String.self),
            description: try row.decode(column: "description", as: String.self),
            category: try row.decode(column: "category", as: String.self),
            priceCents: try row.decode(column: "price_cents", as: Int.self),
            currency: try row.decode(column: "currency", as: String.self),
            stock: try row.decode(column: "stock", as: Int.self),
            reserved: try row.decode(column: "reserved", as: Int.self),
            sold: try row.decode(column: "sold", as: Int.self),
            deleted: try row.decode(column: "deleted", as: Bool.self),
            createdAt: Timestamp.parse(try row.decode(column: "created_at", as: String.self)) ?? Date(timeIntervalSince1970: 0))
    }
}
