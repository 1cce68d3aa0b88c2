import AsyncHTTPClient
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import MeridianAuth
import MeridianContracts
import MeridianHTTP
import MeridianTestSupport
import Synchronization
import Testing

@testable import MeridianServiceClients

/// The ports of the products, carts and users roles, in memory: what the `/internal` routes serve here.
final class Ports: ProductCatalog, CartContents, UserDirectory, AccountStatus {
    let calls = Mutex<[String]>([])
    let failures = Mutex(0)

    func product(_ id: ProductID) async throws -> ProductSummary? {
        calls.withLock { $0.append("product \(id)") }
        let fail = failures.withLock { count -> Bool in
            guard count > 0 else { return false }
            count -= 1
            return true
        }
        if fail { throw Boom() }
        return id == ProductID("mug") ? ProductSummary(id: id, name: "Mug", priceCents: 1250, currency: "EUR", available: 3) : nil
    }

    func reserve(order: OrderID, items: [StockRequest], expiresAt: Date) async throws -> ReservationOutcome {
        calls.withLock { $0.append("reserve \(order)") }
        return .shortOfStock(items[0].productID, requested: items[0].quantity, available: 3)
    }

    func release(order: OrderID) async throws { calls.withLock { $0.append("release \(order)") } }

    func checkout(of user: UserID, for order: OrderID) async throws -> [StockRequest] {
        calls.withLock { $0.append("checkout \(user) \(order)") }
        return [StockRequest(productID: ProductID("mug"), quantity: 2)]
    }

    func restore(order: OrderID) async throws { calls.withLock { $0.append("restore \(order)") } }

    func contact(of user: UserID) async throws -> UserContact? {
        user == UserID("ada") ? UserContact(name: "Ada", email: "ada@example.com") : nil
    }

    func isActive(_ user: UserID) async throws -> Bool { user == UserID("ada") }

    struct Boom: Error {}
}

@Suite struct ServiceClientTests {
    func withInternalRoutes(_ body: @escaping @Sendable (Ports, TokenService, Int) async throws -> Void) async throws {
        let ports = Ports()
        let tokens = try await TokenService(secret: String(repeating: "s", count: 32))
        let router = serviceRouter([InternalRoutes(catalog: ports, carts: ports, users: ports)], tokens: tokens)
        try await Application(router: router).test(.live) { client in
            try await body(ports, tokens, try #require(client.port))
        }
    }

    static func client(_ name: String, port: Int, tokens: TokenService, http: HTTPClient) -> ServiceClient {
        var configuration = ServiceClient.Configuration()
        configuration.retryBackoff = .milliseconds(10)
        return ServiceClient(
            name: name, baseURL: "http://127.0.0.1:\(port)", tokens: tokens, http: http, configuration: configuration)
    }

    @Test func theHTTPAdaptersAnswerAsThePortsDo() async throws {
        let http = ServiceClient.makeHTTPClient(.init())
        try await withInternalRoutes { ports, tokens, port in
            let catalog = HTTPProductCatalog(client: Self.client("products", port: port, tokens: tokens, http: http))
            #expect(try await catalog.product(ProductID("mug"))?.name == "Mug")
            #expect(try await catalog.product(ProductID("nope")) == nil)
            #expect(
                try await catalog.reserve(
                    order: OrderID("o1"), items: [StockRequest(productID: ProductID("mug"), quantity: 5)], expiresAt: Date())
                    == .shortOfStock(ProductID("mug"), requested: 5, available: 3))
            try await catalog.release(order: OrderID("o/1"))
            #expect(ports.calls.withLock { $0 }.contains("release o/1"), "ids are escaped in paths")
            let carts = HTTPCartContents(client: Self.client("carts", port: port, tokens: tokens, http: http))
            #expect(
                try await carts.checkout(of: UserID("ada"), for: OrderID("o2")) == [
                    StockRequest(productID: ProductID("mug"), quantity: 2)
                ])
            try await carts.restore(order: OrderID("o/2"))
            #expect(ports.calls.withLock { $0 }.suffix(2) == ["checkout ada o2", "restore o/2"])
            let users = HTTPUserDirectory(client: Self.client("users", port: port, tokens: tokens, http: http))
            #expect(try await users.contact(of: UserID("ada"))?.email == "ada@example.com")
            #expect(try await users.contact(of: UserID("bob")) == nil)
            #expect(try await users.isActive(UserID("ada")))
            #expect(try await users.isActive(UserID("bob")) == false)
        }
        try await http.shutdown()
    }

    @Test func anIdempotentCallIsTriedASecondTimeOnAFailure() async throws {
        let http = ServiceClient.makeHTTPClient(.init())
        try await withInternalRoutes { ports, tokens, port in
            ports.failures.withLock { $0 = 1 }
            let catalog = HTTPProductCatalog(client: Self.client("products", port: port, tokens: tokens, http: http))
            let found = try await catalog.product(ProductID("mug"))
            #expect(found?.name == "Mug")
            #expect(ports.calls.withLock { $0.filter { $0 == "product mug" }.count } == 2)
            ports.failures.withLock { $0 = 2 }
            await #expect(throws: ServiceCallFailed.self) { try await catalog.product(ProductID("mug")) }
        }
        try await http.shutdown()
    }

    @Test func aServiceThatIsDownFailsQuicklyAsA503() async throws {
        let http = ServiceClient.makeHTTPClient(.init())
        let tokens = try await TokenService(secret: String(repeating: "s", count: 32))
        let catalog = HTTPProductCatalog(client: Self.client("products", port: try freePort(), tokens: tokens, http: http))
        let start = ContinuousClock.now
        do {
            _ = try await catalog.product(ProductID("mug"))
            Issue.record("nothing listens there")
        } catch let failure as ServiceCallFailed {
            #expect(failure.problem.status == 503)
            #expect(failure.problem.retryAfter == 1)
        }
        // Known at once, not after a timeout (it took 10 s, and 30 s through the gateway); generous for a loaded machine.
        #expect(start.duration(to: .now) < .seconds(8), "a refused connection is known at once")
        try await http.shutdown()
    }
}
