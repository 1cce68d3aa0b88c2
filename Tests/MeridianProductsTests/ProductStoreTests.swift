import Foundation
import MeridianContracts
import MeridianCore
import MeridianProducts
import MeridianTestSupport
import Testing

/// The catalog's queries on SQLite and PostgreSQL: the SQL that could differ between the two.
@Suite struct ProductStoreTests {
    @Test(arguments: backends) func theCatalogFiltersSearchesSortsAndPagesAlike(backend: String) async throws {
        let database = try await TestDatabase.make(backend, migrations: [("products", SQLProductStore.migrations)])
        let products = SQLProductStore(store: database.store)
        let entries: [(String, String, Int)] = [
            ("Blue mug", "kitchen", 1299), ("Red mug", "kitchen", 999), ("100% cotton towel", "bath", 1500),
            ("Lamp_shade", "home", 4500), ("Lamp", "home", 3900),
        ]
        for (index, (name, category, cents)) in entries.enumerated() {
            try await products.insert(
                Product(
                    id: ProductID(rawValue: "p\(index)"), name: name, description: "", category: category, priceCents: cents,
                    currency: "USD", stock: 5, reserved: 0, deleted: false,
                    createdAt: Date(timeIntervalSince1970: 1_800_000_000 + Double(index))))
        }
        _ = try await products.softDelete(ProductID(rawValue: "p1"), topics: Topics())

        var query = ProductQuery()
        query.category = "kitchen"
        #expect(try await products.list(query).products.map(\.name) == ["Blue mug"])
        query = ProductQuery()
        query.text = "100%"
        #expect(try await products.list(query).products.map(\.name) == ["100% cotton towel"])
        query.text = "lamp_"
        #expect(try await products.list(query).products.map(\.name) == ["Lamp_shade"])
        query = ProductQuery()
        query.minPriceCents = 1300
        query.maxPriceCents = 4000
        query.sort = .priceDescending
        #expect(try await products.list(query).products.map(\.priceCents) == [3900, 1500])
        query = ProductQuery()
        query.sort = .newest
        query.limit = 2
        query.offset = 1
        let page = try await products.list(query)
        #expect(page.products.map(\.id.rawValue) == ["p3", "p2"])
        #expect(page.total == 4)
        await database.close()
    }

    func product(_ products: SQLProductStore, stock: Int, cents: Int = 500) async throws -> ProductID {
        let id = ProductID(RandomID.uuidString())
        try await products.insert(
            Product(
                id: id, name: "P", description: "", category: "c", priceCents: cents, currency: "USD", stock: stock,
                reserved: 0, deleted: false, createdAt: Date()))
        return id
    }

    @Test(arguments: backends) func aReservationHoldsEveryItemOrNone(backend: String) async throws {
        let database = try await TestDatabase.make(backend, migrations: [("products", SQLProductStore.migrations)])
        let products = SQLProductStore(store: database.store)
        let plenty = try await product(products, stock: 10)
        let scarce = try await product(products, stock: 1)
        let expiry = Date().addingTimeInterval(600)

        let refused = try await products.reserve(
            order: OrderID("o1"), items: [.init(productID: plenty, quantity: 3), .init(productID: scarce, quantity: 2)],
            expiresAt: expiry)
        #expect(refused == .shortOfStock(scarce, requested: 2, available: 1))
        #expect(try await products.find(plenty)?.reserved == 0)

        let held = try await products.reserve(
            order: OrderID("o2"), items: [.init(productID: plenty, quantity: 3), .init(productID: plenty, quantity: 1)],
            expiresAt: expiry)
        guard case .reserved(let items) = held else {
            Issue.record("not reserved: \(held)")
            return
        }
        #expect(items.map(\.quantity) == [4])
        // Asking again for the same order holds nothing more.
        _ = try await products.reserve(order: OrderID("o2"), items: [.init(productID: plenty, quantity: 4)], expiresAt: expiry)
        #expect(try await products.find(plenty)?.reserved == 4)
        #expect(
            try await products.reserve(
                order: OrderID("o3"), items: [.init(productID: ProductID(rawValue: "nope"), quantity: 1)], expiresAt: expiry)
                == .unknownProduct(ProductID(rawValue: "nope")))

        // Committing is applied once per event: a redelivery takes nothing more out of stock.
        #expect(try await products.endReservations(of: "o2", commit: true, eventID: "e1"))
        #expect(try await products.endReservations(of: "o2", commit: true, eventID: "e1") == false)
        let after = try #require(try await products.find(plenty))
        #expect(after.stock == 6 && after.reserved == 0 && after.sold == 4)

        // The safety net releases holds past their expiry, and only those.
        _ = try await products.reserve(
            order: OrderID("o4"), items: [.init(productID: plenty, quantity: 2)], expiresAt: Date().addingTimeInterval(-1))
        _ = try await products.reserve(order: OrderID("o5"), items: [.init(productID: plenty, quantity: 1)], expiresAt: expiry)
        #expect(try await products.releaseExpired(before: Date()) == 1)
        #expect(try await products.find(plenty)?.reserved == 1)
        await database.close()
    }
}
