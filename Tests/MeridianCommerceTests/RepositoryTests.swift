import Foundation
import Logging
import MeridianApp
import MeridianAuth
import MeridianCarts
import MeridianCore
import MeridianNotifications
import MeridianProducts
import MeridianStorage
import MeridianTestSupport
import MeridianUsers
import Testing

/// The other roles' repositories on SQLite and PostgreSQL: the queries whose SQL could differ between the two.
@Suite struct RepositoryTests {
    @Test(arguments: backends) func theCatalogFiltersSearchesSortsAndPagesAlike(backend: String) async throws {
        let database = try await TestDatabase.make(backend)
        _ = try await migrate(database.store, roles: [.products])
        let products = ProductStore(store: database.store)
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

    @Test(arguments: backends) func aCartMergesLinesAndAConfirmedOrderTakesOnlyWhatItOrdered(backend: String) async throws {
        let database = try await TestDatabase.make(backend)
        _ = try await migrate(database.store, roles: [.products, .carts])
        let carts = CartStore(store: database.store)
        let mug = ProductID(rawValue: "mug")
        #expect(try await carts.add(2, of: mug, for: "ada") == 2)
        #expect(try await carts.add(1, of: mug, for: "ada") == 3)
        _ = try await carts.add(1, of: ProductID(rawValue: "lamp"), for: "ada")
        let order = CommerceEvent.OrderCreated(
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

    @Test(arguments: backends) func usersAreUniqueByEmailAndNotificationsListedPerUser(backend: String) async throws {
        let database = try await TestDatabase.make(backend)
        _ = try await migrate(database.store, roles: [.users, .notifications])
        var configuration = UsersController.Configuration()
        configuration.bcryptCost = 4
        let users = UsersController(
            users: UserStore(store: database.store), tokens: try await TokenService(secret: String(repeating: "k", count: 32)),
            configuration: configuration, logger: Logger(label: "test"))
        let ada = try await users.create(email: "ada@example.com", password: "plum-orchard-42", name: "Ada", role: .customer)
        await #expect(throws: (any Error).self) {
            _ = try await users.create(email: "ada@example.com", password: "plum-orchard-43", name: "Ada 2", role: .customer)
        }
        #expect(try await UserStore(store: database.store).find(email: "ada@example.com")?.id == ada.id)

        let notifications = NotificationStore(store: database.store)
        let first = try await notifications.record(
            UserNotification(
                id: "n1", eventID: "e1", type: "order.confirmed", userID: ada.id.rawValue, orderID: "o1", channel: "log",
                recipient: ada.email, subject: "s", body: "b", status: .pending, attempts: 0, lastError: nil, createdAt: Date(),
                sentAt: nil))
        // The same event again is the same notification.
        var again = first
        again.id = "n2"
        #expect(try await notifications.record(again).id == "n1")
        try await notifications.finish("n1", status: .sent, attempts: 1, error: nil)
        let listed = try await notifications.list(user: ada.id.rawValue, offset: 0, limit: 10)
        #expect(listed.total == 1)
        #expect(listed.notifications.first?.status == .sent)
        #expect(listed.notifications.first?.sentAt != nil)
        #expect(try await notifications.list(user: "someone else", offset: 0, limit: 10).total == 0)
        await database.close()
    }
}
