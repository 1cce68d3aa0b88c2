import Foundation
import Logging
import MeridianContracts
import MeridianCore
import MeridianMessaging
import MeridianStorage
import SQLKit

extension SQLProductStore {
    enum ReservationState: String {
        case held, committed, released
    }

    private struct Refused: Error {
        var outcome: ReservationOutcome
    }

    /// Holds every requested unit for `order`, all or none, in one transaction. Holding for an order that
    /// already holds returns what it holds (a retried call reserves nothing twice).
    ///
    /// Each product's row is changed by one conditional `UPDATE` (`stock - reserved >= quantity`), so two
    /// orders can never both take the last unit, on SQLite or PostgreSQL. Rows are taken in product-id order,
    /// so two orders never wait on each other's rows.
    public func reserve(order orderID: OrderID, items: [StockRequest], expiresAt: Date) async throws -> ReservationOutcome {
        let order = orderID.rawValue
        let merged = items.reduce(into: [ProductID: Int]()) { $0[$1.productID, default: 0] += $1.quantity }
        do {
            return try await store.withTransaction { database in
                let held = try await database.raw(
                    "SELECT product_id, quantity FROM stock_reservations WHERE order_id = \(bind: order)"
                ).all()
                if !held.isEmpty {
                    var reserved: [ReservedItem] = []
                    for row in held {
                        let id = ProductID(rawValue: try row.decode(column: "product_id", as: String.self))
                        guard let product = try await Self.find(id, in: database) else {
                            throw Refused(outcome: .unknownProduct(id))
                        }
                        reserved.append(
                            ReservedItem(
                                product: ProductSummary(product), quantity: try row.decode(column: "quantity", as: Int.self)))
                    }
                    return .reserved(reserved)
                }
                let now = Timestamp.format(Date())
                var reserved: [ReservedItem] = []
                for (id, quantity) in merged.sorted(by: { $0.key.rawValue < $1.key.rawValue }) {
                    let taken = try await database.raw(
                        """
                        UPDATE products SET reserved = reserved + \(bind: quantity)
                        WHERE id = \(bind: id.rawValue) AND deleted = \(bind: false) AND stock - reserved >= \(bind: quantity)
                        RETURNING *
                        """
                    ).first().map(Self.product)
                    guard let product = taken else {
                        // Not taken: say why.
                        guard let product = try await Self.find(id, in: database) else {
                            throw Refused(outcome: .unknownProduct(id))
                        }
                        throw Refused(outcome: .shortOfStock(id, requested: quantity, available: product.available))
                    }
                    try await database.raw(
                        """
                        INSERT INTO stock_reservations (order_id, product_id, quantity, state, expires_at, updated_at)
                        VALUES (\(bind: order), \(bind: id.rawValue), \(bind: quantity), \(bind: ReservationState.held.rawValue),
                                \(bind: Timestamp.format(expiresAt)), \(bind: now))
                        """
                    ).run()
                    reserved.append(ReservedItem(product: ProductSummary(product), quantity: quantity))
                }
                return .reserved(reserved)
            }
        } catch let refused as Refused {
            return refused.outcome
        }
    }

    /// Ends `order`'s held reservations: `commit` takes the units out of stock (sold), otherwise they
    /// become available again. Applied once per event id (the inbox); returns false for a redelivery.
    /// Reservations already ended (for example released by the sweeper) are left as they are.
    public func endReservations(of order: String, commit: Bool, eventID: String) async throws -> Bool {
        try await store.withTransaction { database in
            guard try await Inbox.claim(eventID, consumer: "products", in: database) else { return false }
            try await Self.end(order: order, commit: commit, in: database)
            return true
        }
    }

    /// Gives back whatever `order` still holds (an order that was never written: its caller gave up).
    public func release(order: OrderID) async throws {
        try await store.withTransaction { database in
            try await Self.end(order: order.rawValue, commit: false, in: database)
        }
    }

    private static func end(order: String, commit: Bool, in database: any SQLDatabase) async throws {
        // The holds end first and say what they held; the products' rows then change in id order, as `reserve`
        // takes them, so two transactions never wait on each other's rows.
        let held = try await database.raw(
            """
            UPDATE stock_reservations
            SET state = \(bind: (commit ? ReservationState.committed : .released).rawValue),
                updated_at = \(bind: Timestamp.format(Date()))
            WHERE order_id = \(bind: order) AND state = \(bind: ReservationState.held.rawValue)
            RETURNING product_id, quantity
            """
        ).all().map {
            (
                product: try $0.decode(column: "product_id", as: String.self),
                quantity: try $0.decode(column: "quantity", as: Int.self)
            )
        }.sorted { $0.product < $1.product }
        for (product, quantity) in held {
            if commit {
                try await database.raw(
                    """
                    UPDATE products SET stock = stock - \(bind: quantity), reserved = reserved - \(bind: quantity),
                        sold = sold + \(bind: quantity)
                    WHERE id = \(bind: product)
                    """
                ).run()
            } else {
                try await database.raw(
                    "UPDATE products SET reserved = reserved - \(bind: quantity) WHERE id = \(bind: product)"
                ).run()
            }
        }
    }

    /// Releases reservations still held after `cutoff`: the safety net for holds whose order was never
    /// written or whose ending event never came. Returns how many orders' holds were released.
    @discardableResult
    public func releaseExpired(before cutoff: Date) async throws -> Int {
        try await store.withTransaction { database in
            let orders = try await database.raw(
                """
                SELECT DISTINCT order_id FROM stock_reservations
                WHERE state = \(bind: ReservationState.held.rawValue) AND expires_at < \(bind: Timestamp.format(cutoff))
                """
            ).all().map { try $0.decode(column: "order_id", as: String.self) }
            for order in orders {
                try await Self.end(order: order, commit: false, in: database)
            }
            return orders.count
        }
    }
}

extension ProductSummary {
    init(_ product: Product) {
        self.init(
            id: product.id, name: product.name, priceCents: product.priceCents, currency: product.currency,
            available: product.available)
    }
}

/// The products service's consumer of `orders`: an order confirmed takes its reserved units out of
/// stock; an order failed or cancelled gives them back.
public struct OrderOutcomeHandler: Sendable {
    let products: any ProductStore
    let logger: Logger

    public init(products: any ProductStore, logger: Logger) {
        self.products = products
        self.logger = logger
    }

    public func handle(_ event: CloudEvent) async throws {
        let order: String
        let commit: Bool
        switch try CommerceEvent(event) {
        case .orderConfirmed(let confirmed)?:
            order = confirmed.orderID
            commit = true
        case .orderFailed(let failed)?:
            order = failed.orderID
            commit = false
        case .orderCancelled(let cancelled)?:
            order = cancelled.orderID
            commit = false
        default:
            return
        }
        if try await products.endReservations(of: order, commit: commit, eventID: event.id) {
            logger.debug("reservation ended", metadata: ["order_id": "\(order)", "committed": "\(commit)"])
        }
    }
}
