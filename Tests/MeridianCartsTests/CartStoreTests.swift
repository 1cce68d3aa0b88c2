import Foundation
import MeridianCarts
import MeridianContracts
import MeridianCore
import MeridianTestSupport
import Testing

/// The carts' queries on SQLite and PostgreSQL.
@Suite struct CartStoreTests {
    /// An order placed before checkouts existed left its lines in the cart: its confirmation takes only what it ordered.
    @Test(arguments: backends) func aCartMergesLinesAndAConfirmedOrderTakesOnlyWhatItOrdered(backend: String) async throws {
        let database = try await TestDatabase.make(backend, migrations: [("carts", SQLCartStore.migrations)])
        let carts = SQLCartStore(store: database.store)
        let mug = ProductID(rawValue: "mug")
        #expect(try await carts.add(2, of: mug, for: "ada") == 2)
        #expect(try await carts.add(1, of: mug, for: "ada") == 3)
        _ = try await carts.add(1, of: ProductID(rawValue: "lamp"), for: "ada")
        let order = OrderCreated(
            orderID: "o1", userID: "ada", items: [.init(productID: "mug", name: "Mug", unitPriceCents: 100, quantity: 2)],
            totalCents: 200, currency: "USD", createdAt: Timestamp.format(Date()), fromCart: true)
        try await carts.rememberOrderedLines(eventID: "e1", order: order)
        #expect(try await carts.orderEnded(eventID: "e2", order: "o1", confirmed: true) == 1)
        #expect(try await carts.orderEnded(eventID: "e2", order: "o1", confirmed: true) == 0)
        let lines = try await carts.lines(of: "ada")
        #expect(lines.map(\.product.rawValue).sorted() == ["lamp", "mug"])
        #expect(lines.first { $0.product == mug }?.quantity == 1)
        #expect(try await carts.applyProductDeleted(eventID: "e3", product: mug))
        #expect(try await carts.lines(of: "ada").map(\.product.rawValue) == ["lamp"])
        await database.close()
    }

    @Test(arguments: backends) func checkoutTakesTheLinesOnceAndAFailedOrderGivesThemBack(backend: String) async throws {
        let database = try await TestDatabase.make(backend, migrations: [("carts", SQLCartStore.migrations)])
        let carts = SQLCartStore(store: database.store)
        let mug = ProductID(rawValue: "mug")
        let lamp = ProductID(rawValue: "lamp")
        _ = try await carts.add(2, of: mug, for: "ada")
        _ = try await carts.add(1, of: lamp, for: "ada")
        // Lines added in the same millisecond come in product order; compare by product.
        func byProduct(_ lines: [(product: ProductID, quantity: Int)]) -> [String: Int] {
            Dictionary(uniqueKeysWithValues: lines.map { ($0.product.rawValue, $0.quantity) })
        }
        let taken = try await carts.checkout(user: "ada", order: "o1")
        #expect(byProduct(taken) == ["mug": 2, "lamp": 1])
        #expect(try await carts.lines(of: "ada").isEmpty)
        // Again for the same order: the same lines, nothing more taken; another order finds an empty cart.
        _ = try await carts.add(5, of: lamp, for: "ada")
        #expect(byProduct(try await carts.checkout(user: "ada", order: "o1")) == ["mug": 2, "lamp": 1])
        #expect(try await carts.lines(of: "ada").map(\.quantity) == [5])
        // Its payment failed: the lines come back, added to what the cart holds now, once.
        #expect(try await carts.orderEnded(eventID: "e1", order: "o1", confirmed: false) == 2)
        #expect(try await carts.orderEnded(eventID: "e1", order: "o1", confirmed: false) == 0)
        let back = try await carts.lines(of: "ada")
        #expect(back.first { $0.product == mug }?.quantity == 2)
        #expect(back.first { $0.product == lamp }?.quantity == 6)
        #expect(try await carts.restore(order: "o1", eventID: nil) == 0, "given back already")
        // A confirmed order keeps what it took.
        _ = try await carts.checkout(user: "ada", order: "o2")
        #expect(try await carts.orderEnded(eventID: "e2", order: "o2", confirmed: true) == 2)
        #expect(try await carts.restore(order: "o2", eventID: nil) == 0)
        #expect(try await carts.lines(of: "ada").isEmpty)
        // An order.created of an order that took its lines by checkout remembers nothing.
        _ = try await carts.add(1, of: mug, for: "ada")
        _ = try await carts.checkout(user: "ada", order: "o3")
        try await carts.rememberOrderedLines(
            eventID: "e3",
            order: OrderCreated(
                orderID: "o3", userID: "ada", items: [.init(productID: "mug", name: "Mug", unitPriceCents: 100, quantity: 1)],
                totalCents: 100, currency: "USD", createdAt: Timestamp.format(Date()), fromCart: true))
        _ = try await carts.add(1, of: mug, for: "ada")
        #expect(try await carts.orderEnded(eventID: "e4", order: "o3", confirmed: true) == 1)
        #expect(try await carts.lines(of: "ada").map(\.quantity) == [1], "the line added after the order stays")
        await database.close()
    }
}
