import Foundation
import MeridianCore
import MeridianKafka
import MeridianTestSupport
import Testing

/// Split mode: the gateway and the services as separate `meridian` processes, talking HTTP to each other and
/// Kafka (librdkafka's mock cluster) between them, each with its own database; one order end to end.
@Suite(.serialized) struct SplitModeTests {
    @Test func anOrderGoesThroughTheGatewayAndServicesInSeparateProcesses() async throws {
        let cluster = try KafkaMockCluster(brokers: 1)
        for topic in Topics().all { try cluster.createTopic(topic, partitions: 2, replicationFactor: 1) }
        let base = NSTemporaryDirectory() + "meridian-split-" + UUID().uuidString
        defer { try? FileManager.default.removeItem(atPath: base) }
        let shared = [
            "MERIDIAN_EVENT_LOG": "kafka", "MERIDIAN_KAFKA_BROKERS": cluster.bootstrapServers,
            "MERIDIAN_KAFKA_PROPERTY_SESSION_TIMEOUT_MS": "6000", "MERIDIAN_KAFKA_PROPERTY_FETCH_WAIT_MAX_MS": "20",
            "MERIDIAN_AUTH_JWT_SECRET": String(repeating: "s", count: 40), "MERIDIAN_USERS_BCRYPT_COST": "4",
        ]
        // The first admin, in the users service's own database.
        let admin = try await runMeridian(
            ["users", "create-admin", "--email", "root@example.com", "--data-dir", base + "/catalog"], environment: shared,
            input: "a long admin password\n")
        #expect(admin.status == 0, "\(admin.output)")

        // Each process listens on a port the OS picks; the next one learns it from the one before.
        try await StartedProcesses.around { started in
            try await Self.scenario(started, base: base, shared: shared)
        }
    }

    static func scenario(_ started: StartedProcesses, base: String, shared: [String: String]) async throws {
        let catalog = try started.start(
            dataDirectory: base + "/catalog", arguments: ["--role", "users", "--role", "products", "--role", "carts"],
            environment: shared)
        try await catalog.waitUntilServing()
        let catalogURL = "http://127.0.0.1:\(catalog.port)"
        let checkout = try started.start(
            dataDirectory: base + "/checkout",
            arguments: ["--role", "orders", "--role", "payments", "--role", "notifications", "--role", "analytics"],
            environment: shared.merging([
                "MERIDIAN_SERVICES_USERS_URL": catalogURL, "MERIDIAN_SERVICES_PRODUCTS_URL": catalogURL,
                "MERIDIAN_SERVICES_CARTS_URL": catalogURL,
            ]) { _, new in new })
        try await checkout.waitUntilServing()
        var services: [String: String] = [:]
        for role in ["users", "products", "carts"] { services["MERIDIAN_SERVICES_\(role.uppercased())_URL"] = catalogURL }
        for role in ["orders", "payments", "notifications", "analytics"] {
            services["MERIDIAN_SERVICES_\(role.uppercased())_URL"] = "http://127.0.0.1:\(checkout.port)"
        }
        let gateway = try started.start(
            dataDirectory: base + "/gateway", arguments: ["--role", "gateway"],
            environment: shared.merging(services) { _, new in new })
        try await gateway.waitUntilServing()
        let ports = (catalog: catalog.port, checkout: checkout.port, gateway: gateway.port)

        let api = APIClient(port: ports.gateway)
        let ready = try await api.eventually("/ready", token: nil) { $0.status == 200 }
        let checks = ready.object["checks"] as? [String: String] ?? [:]
        #expect(checks["service:orders"] == "ok" && checks["service:products"] == "ok", "\(ready)")

        let root = try await api.login(email: "root@example.com", password: "a long admin password")
        let created = try await api.call(
            "POST", "/api/products", token: root,
            json: ["name": "Lamp", "category": "home", "price_cents": 4500, "currency": "EUR", "stock": 3])
        #expect(created.status == 201, "\(created)")
        let lamp = try #require(created.object["id"] as? String)
        let ada = try await api.customer("ada@example.com")
        #expect(
            try await api.call("POST", "/api/cart/items", token: ada, json: ["product_id": lamp, "quantity": 2]).status == 200)
        // No token, or a forged one: the gateway refuses before any service sees it.
        #expect(try await api.call("POST", "/api/orders", json: ["payment_method": "pm_card_visa"]).status == 401)
        #expect(try await api.call("GET", "/api/orders", token: ada + "x").status == 401)

        let placed = try await api.call(
            "POST", "/api/orders", token: ada, json: ["payment_method": "pm_card_visa"], headers: ["Idempotency-Key": "split-1"])
        #expect(placed.status == 201, "\(placed)")
        #expect(placed.object["total_cents"] as? Int == 9000)
        let id = try #require(placed.object["id"] as? String)
        // Reserved in the other process, over HTTP (or already sold, when the payment was quicker than this read).
        let held = try await api.call("GET", "/api/products/\(lamp)").object
        #expect(held["reserved"] as? Int == 2 || held["sold"] as? Int == 2, "\(held)")

        _ = try await api.eventually("/api/orders/\(id)", token: ada, timeout: .seconds(60)) {
            $0.object["status"] as? String == "CONFIRMED"
        }
        _ = try await api.eventually("/api/products/\(lamp)", token: nil, timeout: .seconds(30)) {
            $0.object["sold"] as? Int == 2 && $0.object["reserved"] as? Int == 0
        }
        _ = try await api.eventually("/api/cart", token: ada, timeout: .seconds(30)) { $0.items.isEmpty }
        let notified = try await api.eventually("/api/notifications", token: ada, timeout: .seconds(30)) {
            $0.items.first?["status"] as? String == "sent"
        }
        #expect(notified.items.first?["subject"] as? String == "Your order \(id) is confirmed")
        // The analytics role of the checkout process counted it; the gateway forwards /api/analytics there.
        _ = try await api.eventually("/api/analytics/orders", token: root, timeout: .seconds(30)) {
            $0.items.contains { ($0["metrics"] as? [String: Any])?["revenue_cents"] as? Int == 9000 }
        }
        // The internal routes need a service token.
        let internalAnswer = try await APIClient(port: ports.catalog).call("GET", "/internal/products/\(lamp)", token: ada)
        #expect(internalAnswer.status == 403)
    }
}
