import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Logging
import MeridianAuth
import MeridianCarts
import MeridianContracts
import MeridianCore
import MeridianEventLog
import MeridianHTTP
import MeridianMessaging
import MeridianStorage
import MeridianTestSupport
import Synchronization
import Testing

/// The products service as the carts see it, in memory: a few products whose prices the test changes.
final class MemoryCatalog: ProductCatalog {
    private let products = Mutex<[ProductID: ProductSummary]>([:])

    func put(_ name: String, cents: Int, currency: String = "USD") -> String {
        let id = ProductID(RandomID.uuidString())
        products.withLock { $0[id] = ProductSummary(id: id, name: name, priceCents: cents, currency: currency, available: 50) }
        return id.rawValue
    }

    func reprice(_ id: String, cents: Int) { products.withLock { $0[ProductID(id)]?.priceCents = cents } }
    func remove(_ id: String) { _ = products.withLock { $0.removeValue(forKey: ProductID(id)) } }

    func product(_ id: ProductID) async throws -> ProductSummary? { products.withLock { $0[id] } }
    func reserve(order: OrderID, items: [StockRequest], expiresAt: Date) async throws -> ReservationOutcome { .reserved([]) }
    func release(order: OrderID) async throws {}
}

/// The carts role on its store and event log, with the products service in memory.
/// (`@unchecked`: the router is only mutated while the harness is built.)
final class CartsHarness: @unchecked Sendable {
    let base: CommerceHarness
    let carts: SQLCartStore
    let catalog = MemoryCatalog()
    let router: Router<MeridianRequestContext>

    init() async throws {
        base = try await CommerceHarness(migrations: [("carts", SQLCartStore.migrations)])
        carts = SQLCartStore(store: base.store)
        router = base.router([CartsController(carts: carts, catalog: catalog, logger: Logger(label: "test"))])
    }

    var log: EmbeddedEventLog { base.log }
    var application: some ApplicationProtocol { Application(router: router) }
    func headers(_ user: String, _ role: Principal.Role = .customer) async throws -> HTTPFields {
        try await base.headers(user, role)
    }
    func close() async { await base.close() }
}

extension TestResponse {
    var lines: [[String: Any]] { object["items"] as? [[String: Any]] ?? [] }
}

@Suite struct CartsAPITests {

    func add(_ client: some TestClientProtocol, _ user: HTTPFields, _ product: String, _ quantity: Int) async throws
        -> TestResponse
    {
        try await client.execute(
            uri: "/api/cart/items", method: .post, headers: user,
            body: ByteBuffer(string: #"{"product_id":"\#(product)","quantity":\#(quantity)}"#))
    }

    @Test func linesMergeQuantitiesChangeAndTotalsFollowCurrentPrices() async throws {
        let harness = try await CartsHarness()
        let ada = try await harness.headers("ada")
        try await harness.application.test(.router) { client in
            let mug = harness.catalog.put("Mug", cents: 1299)
            let lamp = harness.catalog.put("Lamp", cents: 4500, currency: "EUR")
            _ = try await add(client, ada, mug, 1)
            let merged = try await add(client, ada, mug, 2)
            #expect(merged.lines.count == 1)
            #expect(merged.lines.first?["quantity"] as? Int == 3)
            let both = try await add(client, ada, lamp, 1)
            #expect(both.object["totals"] as? [String: Int] == ["USD": 3897, "EUR": 4500])
            #expect(both.object["item_count"] as? Int == 4)

            harness.catalog.reprice(mug, cents: 1000)
            let repriced = try await client.execute(uri: "/api/cart", method: .get, headers: ada)
            #expect((repriced.object["totals"] as? [String: Int])?["USD"] == 3000)

            let set = try await client.execute(
                uri: "/api/cart/items/\(mug)", method: .put, headers: ada, body: ByteBuffer(string: #"{"quantity":0}"#))
            #expect(set.lines.map { $0["product_id"] as? String } == [lamp])
            let removed = try await client.execute(uri: "/api/cart/items/\(lamp)", method: .delete, headers: ada)
            #expect(removed.lines.isEmpty)
            _ = try await add(client, ada, lamp, 2)
            let cleared = try await client.execute(uri: "/api/cart", method: .delete, headers: ada)
            #expect(cleared.lines.isEmpty)
        }
        await harness.close()
    }

    @Test func aUserSeesOnlyTheirOwnCart() async throws {
        let harness = try await CartsHarness()
        let ada = try await harness.headers("ada")
        let bob = try await harness.headers("bob")
        try await harness.application.test(.router) { client in
            let mug = harness.catalog.put("Mug", cents: 1299)
            _ = try await add(client, ada, mug, 2)
            #expect(try await client.execute(uri: "/api/cart", method: .get, headers: bob).lines.isEmpty)
            let foreign = try await client.execute(
                uri: "/api/cart/items/\(mug)", method: .put, headers: bob, body: ByteBuffer(string: #"{"quantity":5}"#))
            #expect(foreign.status == .notFound)
            #expect(try await client.execute(uri: "/api/cart", method: .get, headers: ada).lines.first?["quantity"] as? Int == 2)
            #expect(try await client.execute(uri: "/api/cart", method: .get).status == .unauthorized)
        }
        await harness.close()
    }

    @Test func mistakesNameTheField() async throws {
        let harness = try await CartsHarness()
        let ada = try await harness.headers("ada")
        try await harness.application.test(.router) { client in
            let mug = harness.catalog.put("Mug", cents: 1299)
            let unknown = try await add(client, ada, "nope", 1)
            #expect(unknown.status == .unprocessableContent)
            #expect(unknown.object["field"] as? String == "product_id")
            let zero = try await add(client, ada, mug, 0)
            #expect(zero.object["field"] as? String == "quantity")
            let huge = try await add(client, ada, mug, 5000)
            #expect(huge.object["field"] as? String == "quantity")
            let missing = try await client.execute(
                uri: "/api/cart/items", method: .post, headers: ada, body: ByteBuffer(string: #"{"quantity":1}"#))
            #expect(missing.status == .badRequest)
            #expect(missing.object["field"] as? String == "product_id")
        }
        await harness.close()
    }

    @Test func aDeletedProductLeavesEveryCartOnceEvenWhenTheEventComesTwice() async throws {
        let harness = try await CartsHarness()
        let ada = try await harness.headers("ada")
        let bob = try await harness.headers("bob")
        try await harness.application.test(.router) { client in
            let mug = harness.catalog.put("Mug", cents: 1299)
            let lamp = harness.catalog.put("Lamp", cents: 4500)
            _ = try await add(client, ada, mug, 1)
            _ = try await add(client, ada, lamp, 1)
            _ = try await add(client, bob, mug, 4)
            // The products service deletes the mug and publishes `product.deleted`.
            harness.catalog.remove(mug)
            let deleted = ProductDeleted(productID: mug, deletedAt: Timestamp.format(Date()))
            _ = await harness.log.append([try deleted.record(topics: Topics())])

            let consumer = try await harness.log.makeConsumer(ConsumerOptions(group: "carts", topics: ["product.deleted"]))
            let records = try await consumer.poll(maxRecords: 10, timeout: .seconds(5))
            #expect(records.count == 1)
            let handler = CartEventHandler(carts: harness.carts, logger: Logger(label: "test"))
            let handling = EventHandling(
                eventLog: harness.log, topics: Topics(), consumer: "carts", logger: Logger(label: "test"))
            try await handling.dispatch(records, handler.handle)
            // A line of the product written after the event was applied: a redelivery must not touch it.
            _ = try await harness.carts.add(1, of: ProductID(rawValue: mug), for: "bob")
            #expect(
                try await harness.carts.applyProductDeleted(
                    eventID: try #require(records.first?.header("ce_id")), product: ProductID(rawValue: mug)) == false)
            await consumer.close()

            #expect(try await harness.carts.lines(of: "ada").map(\.product.rawValue) == [lamp])
            #expect(try await harness.carts.lines(of: "bob").map(\.quantity) == [1])
        }
        await harness.close()
    }
}
