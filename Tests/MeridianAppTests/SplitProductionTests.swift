import Foundation
import MeridianCore
import MeridianKafka
import MeridianTestSupport
import Synchronization
import Testing

#if canImport(FoundationNetworking)
    import FoundationNetworking
#endif

/// Split mode as production runs it: users, products, carts, orders and payments each in a process of its own
/// on PostgreSQL and the Kafka mock cluster, behind gateways. The edge limits clients, not the gateway; the
/// client address comes from a proxy only when the proxy is trusted; a service that is down is a quick 503.
@Suite(.serialized) struct SplitProductionTests {
    @Test func servicesBehindTheGatewayHoldUpAsInProduction() async throws {
        let cluster = try KafkaMockCluster(brokers: 1)
        for topic in Topics().all { try cluster.createTopic(topic, partitions: 2, replicationFactor: 1) }
        let base = NSTemporaryDirectory() + "meridian-prod-" + UUID().uuidString
        defer { try? FileManager.default.removeItem(atPath: base) }
        let databases = try await TestDatabase.postgresDatabases(5)
        let shared = [
            "MERIDIAN_EVENT_LOG": "kafka", "MERIDIAN_KAFKA_BROKERS": cluster.bootstrapServers,
            "MERIDIAN_KAFKA_PROPERTY_SESSION_TIMEOUT_MS": "6000", "MERIDIAN_KAFKA_PROPERTY_FETCH_WAIT_MAX_MS": "20",
            "MERIDIAN_AUTH_JWT_SECRET": String(repeating: "p", count: 40), "MERIDIAN_USERS_BCRYPT_COST": "4",
        ]
        // Each service on its own PostgreSQL database (SQLite in its data dir when no test server runs).
        func storage(_ index: Int) -> [String: String] {
            databases.map { ["MERIDIAN_STORAGE_URL": $0.urls[index]] } ?? [:]
        }
        let admin = try await runMeridian(
            ["users", "create-admin", "--email", "root@example.com", "--data-dir", base + "/users"],
            environment: shared.merging(storage(0)) { _, new in new }, input: "a long admin password\n")
        #expect(admin.status == 0, "\(admin.output)")
        do {
            try await StartedProcesses.around { started in
                try await Self.scenario(started, base: base, shared: shared, storage: storage)
            }
        } catch {
            await databases?.drop()
            throw error
        }
        await databases?.drop()
    }

    static func scenario(
        _ started: StartedProcesses, base: String, shared: [String: String], storage: (Int) -> [String: String]
    ) async throws {
        func start(_ name: String, _ roles: [String], _ environment: [String: String]) async throws -> MeridianProcess {
            let process = try started.start(
                dataDirectory: base + "/" + name, arguments: roles.flatMap { ["--role", $0] },
                environment: shared.merging(environment) { _, new in new })
            try await process.waitUntilServing()
            return process
        }
        func url(_ process: MeridianProcess) -> String { "http://127.0.0.1:\(process.port)" }

        let users = try await start("users", ["users"], storage(0))
        let usersURL = ["MERIDIAN_SERVICES_USERS_URL": url(users)]
        let products = try await start("products", ["products"], storage(1).merging(usersURL) { _, new in new })
        let carts = try await start(
            "carts", ["carts"],
            storage(2).merging(usersURL) { _, new in new }.merging(["MERIDIAN_SERVICES_PRODUCTS_URL": url(products)]) { _, new in
                new
            })
        let orders = try await start(
            "orders", ["orders"],
            storage(3).merging(usersURL) { _, new in new }.merging([
                "MERIDIAN_SERVICES_PRODUCTS_URL": url(products), "MERIDIAN_SERVICES_CARTS_URL": url(carts),
            ]) { _, new in new })
        let payments = try await start("payments", ["payments"], storage(4).merging(usersURL) { _, new in new })
        var routes = usersURL
        routes["MERIDIAN_SERVICES_PRODUCTS_URL"] = url(products)
        routes["MERIDIAN_SERVICES_CARTS_URL"] = url(carts)
        routes["MERIDIAN_SERVICES_ORDERS_URL"] = url(orders)
        routes["MERIDIAN_SERVICES_PAYMENTS_URL"] = url(payments)
        let strict = ["MERIDIAN_GATEWAY_ADDRESS_RATE": "1", "MERIDIAN_GATEWAY_ADDRESS_BURST": "3"]
        // Behind a trusted proxy (an ingress on 127.0.0.1), and exposed directly (nothing trusted).
        let trusting = try await start(
            "gateway-trusting", ["gateway"],
            routes.merging(strict) { _, new in new }.merging(["MERIDIAN_HTTP_TRUSTED_PROXIES": "127.0.0.1/32"]) { _, new in new })
        let exposed = try await start("gateway-exposed", ["gateway"], routes.merging(strict) { _, new in new })

        let api = APIClient(port: trusting.port)
        _ = try await api.eventually("/ready", token: nil) { $0.status == 200 }
        let root = try await api.login(email: "root@example.com", password: "a long admin password")
        let created = try await api.call(
            "POST", "/api/products", token: root,
            json: ["name": "Lamp", "category": "home", "price_cents": 4500, "currency": "EUR", "stock": 1000],
            headers: ["X-Forwarded-For": "198.51.100.250"])
        #expect(created.status == 201, "\(created)")
        let lamp = try #require(created.object["id"] as? String)

        // 1. Twenty users, ten requests a second each (200 a second), each within its own limits: no 429, because
        // the services trust the gateway and do not limit its address. Each request comes from another client
        // address, as through an ingress, so the edge's per-address limit (1/s here) holds for none of them.
        var customers: [String] = []
        for n in 0..<20 {
            customers.append(
                try await APIClient(port: trusting.port).customer("load\(n)@example.com", forwardedFor: "198.51.100.\(n + 1)"))
        }
        let tally = Tally()
        let startedAt = ContinuousClock.now
        let port = trusting.port
        await withTaskGroup(of: Void.self) { group in
            for (n, token) in customers.enumerated() {
                group.addTask {
                    let client = APIClient(port: port)
                    for tick in 0..<50 {
                        try? await Task.sleep(until: startedAt.advanced(by: .milliseconds(100 * tick + 5 * n)))
                        let unique = tally.next()
                        let path = tick % 2 == 0 ? "/api/cart" : "/api/products/\(lamp)"
                        let forwarded = "10.\(unique / 65536).\(unique / 256 % 256).\(unique % 256)"
                        let answer = try? await client.call("GET", path, token: token, headers: ["X-Forwarded-For": forwarded])
                        tally.count(answer?.status ?? 0)
                    }
                }
            }
        }
        let seen = tally.counts.withLock { $0 }
        let elapsed = startedAt.duration(to: .now)
        #expect(seen[429] == nil, "no client was over its limits, yet: \(seen)")
        #expect(seen[200] == 1000, "\(seen) in \(elapsed)")

        // 2. A person's token, an admin's included, opens no /internal route.
        for port in [products.port, carts.port, users.port] {
            let answer = try await APIClient(port: port).call("GET", "/internal/products/\(lamp)", token: root)
            #expect(answer.status == 403 || answer.status == 404, "port \(port): \(answer)")
            #expect(answer.status != 200)
        }
        #expect(try await APIClient(port: products.port).call("GET", "/internal/products/\(lamp)", token: root).status == 403)

        // 3. A forged X-Forwarded-For from a peer that is not trusted does not escape its bucket...
        var exposedStatuses: [Int] = []
        for n in 0..<5 {
            exposedStatuses.append(
                try await APIClient(port: exposed.port).call(
                    "GET", "/api/products/\(lamp)", headers: ["X-Forwarded-For": "203.0.113.\(n + 1)"]
                ).status)
        }
        #expect(exposedStatuses.prefix(3).allSatisfy { $0 == 200 } && exposedStatuses.last == 429, "\(exposedStatuses)")
        // ...and behind a trusted proxy, distinct forwarded addresses have distinct buckets.
        var trustedStatuses: [Int] = []
        for n in 0..<5 {
            trustedStatuses.append(
                try await api.call("GET", "/api/products/\(lamp)", headers: ["X-Forwarded-For": "203.0.113.\(n + 1)"]).status)
        }
        #expect(trustedStatuses.allSatisfy { $0 == 200 }, "\(trustedStatuses)")
        var sameClient: [Int] = []
        for _ in 0..<4 {
            sameClient.append(
                try await api.call("GET", "/api/products/\(lamp)", headers: ["X-Forwarded-For": "203.0.113.99"]).status)
        }
        #expect(sameClient.last == 429, "one client's own bucket still holds: \(sameClient)")

        // 4. With products stopped, placing an order is a quick 503 with Retry-After, not a 500.
        let ada = customers[0]
        let added = try await api.call(
            "POST", "/api/cart/items", token: ada, json: ["product_id": lamp, "quantity": 1],
            headers: ["X-Forwarded-For": "198.51.100.1"])
        #expect(added.status == 200, "\(added)")
        #expect(await products.stop() == 0)
        let began = ContinuousClock.now
        let refused = try await api.call(
            "POST", "/api/orders", token: ada, json: ["payment_method": "pm_card_visa"],
            headers: ["X-Forwarded-For": "198.51.100.1"])
        #expect(refused.status == 503, "\(refused)")
        #expect(refused.headers["retry-after"] != nil)
        #expect(refused.headers["content-type"] == "application/problem+json")
        // Known at once, not after a timeout (it took 10 s and more); generous for a loaded machine.
        #expect(began.duration(to: .now) < .seconds(8), "a refused connection is known at once")
    }
}

/// Answers counted by status, and a sequence number, shared by concurrent tasks.
final class Tally: Sendable {
    let counts = Mutex<[Int: Int]>([:])
    private let sequence = Atomic<Int>(0)

    func count(_ status: Int) { counts.withLock { $0[status, default: 0] += 1 } }
    func next() -> Int { sequence.add(1, ordering: .relaxed).newValue }
}

extension APIClient {
    /// Registers a customer (as a client at `forwardedFor` behind a proxy) and returns a token for it.
    func customer(_ email: String, forwardedFor: String) async throws -> String {
        let headers = ["X-Forwarded-For": forwardedFor]
        let registered = try await call(
            "POST", "/api/users", json: ["email": email, "password": "plum-orchard-42", "name": email], headers: headers)
        guard registered.status == 201 else { throw AllInOneError("register \(email): \(registered)") }
        let response = try await call(
            "POST", "/api/auth/login", json: ["email": email, "password": "plum-orchard-42"], headers: headers)
        guard let token = response.object["token"] as? String else { throw AllInOneError("login \(email): \(response)") }
        return token
    }
}
