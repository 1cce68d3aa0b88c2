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
import MeridianProducts
import MeridianStorage
import MeridianTestSupport
import Testing

/// Products and carts on one store and event log, as all-in-one mode assembles them.
/// (`@unchecked`: the router is only mutated while the harness is built.)
final class CartsHarness: @unchecked Sendable {
    let base: CommerceHarness
    let carts: SQLCartStore
    let router: Router<MeridianRequestContext>
    let relay: OutboxRelay

    init() async throws {
        base = try await CommerceHarness(migrations: [
            ("products", SQLProductStore.migrations), ("carts", SQLCartStore.migrations),
        ])
        let products = SQLProductStore(store: base.store)
        carts = SQLCartStore(store: base.store)
        router = base.router([
            ProductsController(products: products, topics: Topics(), logger: Logger(label: "test")),
            CartsController(carts: carts, catalog: StoreProductCatalog(products: products), logger: Logger(label: "test")),
        ])
        relay = OutboxRelay(
            store: base.store, eventLog: base.log, service: "products", topics: Topics(), logger: Logger(label: "test"))
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
    func product(_ client: some TestClientProtocol, _ admin: HTTPFields, _ name: String, _ cents: Int, _ currency: String = "USD")
        async throws -> String
    {
        let response = try await client.execute(
            uri: "/api/products", method: .post, headers: admin,
            body: ByteBuffer(
                string: #"{"name":"\#(name)","category":"c","price_cents":\#(cents),"stock":50,"currency":"\#(currency)"}"#))
        return try #require(response.object["id"] as? String)
    }

    func add(_ client: some TestClientProtocol, _ user: HTTPFields, _ product: String, _ quantity: Int) async throws
        -> TestResponse
    {
        try await client.execute(
            uri: "/api/cart/items", method: .post, headers: user,
            body: ByteBuffer(string: #"{"product_id":"\#(product)","quantity":\#(quantity)}"#))
    }

    @Test func linesMergeQuantitiesChangeAndTotalsFollowCurrentPrices() async throws {
        let harness = try await CartsHarness()
        let admin = try await harness.headers("admin", .admin)
        let ada = try await harness.headers("ada")
        try await harness.application.test(.router) { client in
            let mug = try await product(client, admin, "Mug", 1299)
            let lamp = try await product(client, admin, "Lamp", 4500, "EUR")
            _ = try await add(client, ada, mug, 1)
            let merged = try await add(client, ada, mug, 2)
            #expect(merged.lines.count == 1)
            #expect(merged.lines.first?["quantity"] as? Int == 3)
            let both = try await add(client, ada, lamp, 1)
            #expect(both.object["totals"] as? [String: Int] == ["USD": 3897, "EUR": 4500])
            #expect(both.object["item_count"] as? Int == 4)

            _ = try await client.execute(
                uri: "/api/products/\(mug)", method: .patch, headers: admin, body: ByteBuffer(string: #"{"price_cents":1000}"#))
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
        let admin = try await harness.headers("admin", .admin)
        let ada = try await harness.headers("ada")
        let bob = try await harness.headers("bob")
        try await harness.application.test(.router) { client in
            let mug = try await product(client, admin, "Mug", 1299)
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
        let admin = try await harness.headers("admin", .admin)
        let ada = try await harness.headers("ada")
        try await harness.application.test(.router) { client in
            let mug = try await product(client, admin, "Mug", 1299)
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
        let admin = try await harness.headers("admin", .admin)
        let ada = try await harness.headers("ada")
        let bob = try await harness.headers("bob")
        try await harness.application.test(.router) { client in
            let mug = try await product(client, admin, "Mug", 1299)
            let lamp = try await product(client, admin, "Lamp", 4500)
            _ = try await add(client, ada, mug, 1)
            _ = try await add(client, ada, lamp, 1)
            _ = try await add(client, bob, mug, 4)
            _ = try await client.execute(uri: "/api/products/\(mug)", method: .delete, headers: admin)
            #expect(try await harness.relay.publishOnce() == 1)

            let consumer = try await harness.log.makeConsumer(ConsumerOptions(group: "carts", topics: ["product.deleted"]))
            let records = try await consumer.poll(maxRecords: 10, timeout: .seconds(5))
            #expect(records.count == 1)
            let handler = CartEventHandler(
                carts: harness.carts,
                handling: EventHandling(
                    eventLog: harness.log, topics: Topics(), consumer: "carts", logger: Logger(label: "test")),
                logger: Logger(label: "test"))
            try await handler.handle(records)
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
