import Foundation
import MeridianCarts
import MeridianContracts
import MeridianCore
import MeridianTestSupport
import Testing

/// The carts' queries on SQLite and PostgreSQL.
@Suite struct CartStoreTests {
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
}
