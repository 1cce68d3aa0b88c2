import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Logging
import MeridianAuth
import MeridianCore
import MeridianEventLog
import MeridianHTTP
import MeridianMessaging
import MeridianProducts
import MeridianStorage
import MeridianTestSupport
import Testing

/// The products API behind the middleware every role shares, on the shared test harness.
/// (`@unchecked`: the router is only mutated while the harness is built.)
final class ProductsHarness: @unchecked Sendable {
    let base: CommerceHarness
    let router: Router<MeridianRequestContext>
    let relay: OutboxRelay

    init() async throws {
        base = try await CommerceHarness(migrations: [("products", SQLProductStore.migrations)])
        router = base.router([
            ProductsController(products: SQLProductStore(store: base.store), topics: Topics(), logger: Logger(label: "test"))
        ])
        relay = OutboxRelay(
            store: base.store, eventLog: base.log, service: "products", topics: Topics(), logger: Logger(label: "test"))
    }

    var log: EmbeddedEventLog { base.log }
    var application: some ApplicationProtocol { Application(router: router) }
    func headers(_ role: Principal.Role) async throws -> HTTPFields { try await base.headers("u-\(role.rawValue)", role) }
    func close() async { await base.close() }
}

@Suite struct ProductsAPITests {
    func create(_ client: some TestClientProtocol, _ admin: HTTPFields, _ body: String) async throws -> TestResponse {
        try await client.execute(uri: "/api/products", method: .post, headers: admin, body: ByteBuffer(string: body))
    }

    @Test func adminsManageTheCatalogAndEveryoneBrowsesIt() async throws {
        let harness = try await ProductsHarness()
        let admin = try await harness.headers(.admin)
        let customer = try await harness.headers(.customer)
        try await harness.application.test(.router) { client in
            let mug = try await create(
                client, admin, #"{"name":"Blue mug","category":"kitchen","price_cents":1299,"stock":5,"description":"A mug"}"#)
            #expect(mug.status == .created)
            #expect(mug.object["available"] as? Int == 5)
            #expect(mug.object["currency"] as? String == "USD")
            _ = try await create(client, admin, #"{"name":"Red mug","category":"kitchen","price_cents":1599,"stock":1}"#)
            _ = try await create(client, admin, #"{"name":"Desk lamp","category":"office","price_cents":4500,"currency":"EUR"}"#)

            let kitchen = try await client.execute(uri: "/api/products?category=kitchen&sort=-price", method: .get)
            #expect((kitchen.object["items"] as? [[String: Any]])?.map { $0["name"] as? String } == ["Red mug", "Blue mug"])
            #expect(kitchen.object["total"] as? Int == 2)
            let cheap = try await client.execute(uri: "/api/products?max_price_cents=1500", method: .get)
            #expect((cheap.object["items"] as? [[String: Any]])?.map { $0["name"] as? String } == ["Blue mug"])
            let search = try await client.execute(uri: "/api/products?q=LAMP", method: .get)
            #expect((search.object["items"] as? [[String: Any]])?.map { $0["name"] as? String } == ["Desk lamp"])
            let paged = try await client.execute(uri: "/api/products?per_page=2&page=2&sort=name", method: .get)
            #expect((paged.object["items"] as? [[String: Any]])?.map { $0["name"] as? String } == ["Red mug"])

            let id = try #require(mug.object["id"] as? String)
            let renamed = try await client.execute(
                uri: "/api/products/\(id)", method: .patch, headers: admin, body: ByteBuffer(string: #"{"price_cents":999}"#))
            #expect(renamed.object["price_cents"] as? Int == 999)
            let stocked = try await client.execute(
                uri: "/api/products/\(id)/stock", method: .post, headers: admin, body: ByteBuffer(string: #"{"delta":-5}"#))
            #expect(stocked.object["stock"] as? Int == 0)
            let negative = try await client.execute(
                uri: "/api/products/\(id)/stock", method: .post, headers: admin, body: ByteBuffer(string: #"{"delta":-1}"#))
            #expect(negative.status == .conflict)

            #expect(try await create(client, customer, #"{"name":"x","category":"y","price_cents":1}"#).status == .forbidden)
            let anonymous = try await client.execute(
                uri: "/api/products", method: .post, headers: [.contentType: "application/json"],
                body: ByteBuffer(string: #"{"name":"x","category":"y","price_cents":1}"#))
            #expect(anonymous.status == .unauthorized)
        }
        await harness.close()
    }

    @Test(arguments: [
        (#"{"name":"","category":"c","price_cents":1}"#, 422, "name"),
        (#"{"name":"n","category":"c","price_cents":-1}"#, 422, "price_cents"),
        (#"{"name":"n","category":"c","price_cents":1,"currency":"usd"}"#, 422, "currency"),
        (#"{"name":"n","category":"c","price_cents":1,"stock":-2}"#, 422, "stock"),
        (#"{"name":"n","category":"c"}"#, 400, "price_cents"),
        (#"{"name":"n","category":"c","price_cents":"12.99"}"#, 400, "price_cents"),
    ])
    func badProductsNameTheField(body: String, status: Int, field: String) async throws {
        let harness = try await ProductsHarness()
        let admin = try await harness.headers(.admin)
        try await harness.application.test(.router) { client in
            let response = try await create(client, admin, body)
            #expect(response.status.code == status)
            #expect(response.object["field"] as? String == field)
        }
        await harness.close()
    }

    @Test func badQueriesAre400() async throws {
        let harness = try await ProductsHarness()
        try await harness.application.test(.router) { client in
            for query in ["sort=cheapest", "per_page=0", "page=x", "min_price_cents=-5"] {
                let response = try await client.execute(uri: "/api/products?\(query)", method: .get)
                #expect(response.status == .badRequest, "\(query)")
            }
            #expect(try await client.execute(uri: "/api/products/nope", method: .get).status == .notFound)
        }
        await harness.close()
    }

    @Test func softDeleteHidesTheProductAndPublishesProductDeletedThroughTheOutbox() async throws {
        let harness = try await ProductsHarness()
        let admin = try await harness.headers(.admin)
        try await harness.application.test(.router) { client in
            let id = try #require(
                try await create(client, admin, #"{"name":"Old","category":"c","price_cents":100}"#).object["id"] as? String)
            #expect(try await client.execute(uri: "/api/products/\(id)", method: .delete, headers: admin).status == .noContent)
            #expect(try await client.execute(uri: "/api/products/\(id)", method: .get).status == .notFound)
            #expect(try await client.execute(uri: "/api/products/\(id)", method: .delete, headers: admin).status == .notFound)
            #expect(try await harness.relay.publishOnce() == 1)
            let consumer = try await harness.log.makeConsumer(
                ConsumerOptions(group: nil, topics: ["product.deleted"], fromBeginning: true))
            let records = try await consumer.poll(maxRecords: 10, timeout: .seconds(5))
            await consumer.close()
            let record = try #require(records.first)
            #expect(records.count == 1)
            #expect(record.key == Array(id.utf8))
            #expect(record.header("ce_type") == "product.deleted")
            #expect(record.header("ce_source") == "/meridian/products")
            let data = try #require(try JSONSerialization.jsonObject(with: Data(record.value)) as? [String: Any])
            #expect(data["product_id"] as? String == id)
            #expect((data["deleted_at"] as? String).flatMap(Timestamp.parse) != nil)
        }
        await harness.close()
    }
}
