import Foundation
import Hummingbird
import Logging
import MeridianCore
import MeridianKafka
import MeridianTestSupport
import NIOCore
import ServiceLifecycle
import Synchronization
import Testing

@testable import MeridianApp

/// Distributed tracing as an operator turns it on (`tracing.enabled`): real `meridian serve` processes export
/// OTLP/HTTP (JSON) to a receiver in this test, and one order, placed with the client's `traceparent`, is one trace
/// across the gateway, the services and the event log: every span of it carries the client's trace id and has its
/// parent among the spans received (or is the client's own child).
@Suite(.serialized) struct TracingTests {
    @Test func oneOrderIsOneTraceAcrossProcessesAndKafka() async throws {
        let cluster = try KafkaMockCluster(brokers: 1)
        for topic in Topics().all { try cluster.createTopic(topic, partitions: 2, replicationFactor: 1) }
        let base = NSTemporaryDirectory() + "meridian-trace-" + UUID().uuidString
        defer { try? FileManager.default.removeItem(atPath: base) }
        try await OTLPReceiver.with { receiver in
            let shared = Self.environment(receiver).merging([
                "MERIDIAN_EVENT_LOG": "kafka", "MERIDIAN_KAFKA_BROKERS": cluster.bootstrapServers,
                "MERIDIAN_KAFKA_PROPERTY_SESSION_TIMEOUT_MS": "6000", "MERIDIAN_KAFKA_PROPERTY_FETCH_WAIT_MAX_MS": "20",
            ]) { _, new in new }
            try await Self.createAdmin(dataDirectory: base + "/catalog", environment: shared)
            let trace = TraceID.random()
            try await StartedProcesses.around { started in
                func start(_ name: String, _ roles: [String], _ extra: [String: String]) async throws -> String {
                    let process = try started.start(
                        dataDirectory: base + "/" + name, arguments: roles.flatMap { ["--role", $0] },
                        environment: shared.merging(extra) { _, new in new })
                    try await process.waitUntilServing()
                    return "http://127.0.0.1:\(process.port)"
                }
                let catalog = try await start("catalog", ["users", "products", "carts"], [:])
                let needs = [
                    "MERIDIAN_SERVICES_USERS_URL": catalog, "MERIDIAN_SERVICES_PRODUCTS_URL": catalog,
                    "MERIDIAN_SERVICES_CARTS_URL": catalog,
                ]
                let orders = try await start("orders", ["orders"], needs)
                let payments = try await start("payments", ["payments"], needs)
                let notifications = try await start("notifications", ["notifications"], needs)
                var routes = needs
                routes["MERIDIAN_SERVICES_ORDERS_URL"] = orders
                routes["MERIDIAN_SERVICES_PAYMENTS_URL"] = payments
                routes["MERIDIAN_SERVICES_NOTIFICATIONS_URL"] = notifications
                let gateway = try await start("gateway", ["gateway"], routes)
                let api = APIClient(port: Int(URLComponents(string: gateway)!.port!))
                _ = try await api.eventually("/ready", token: nil) { $0.status == 200 }
                try await Self.placeOrder(api, trace: trace)
            }
            // Every process stopped gracefully, so each exported what it recorded on the way out.
            let spans = receiver.spans()
            let traced = spans.filter { $0.traceID == trace.hex }
            let services = Set(traced.map(\.service))
            for service in ["meridian-gateway", "meridian-orders", "meridian-payments", "meridian-notifications"] {
                #expect(services.contains(service), "no span of \(service) in the order's trace; services: \(services)")
            }
            #expect(traced.contains { $0.service == "meridian-gateway" && $0.name == "proxy orders" })
            #expect(traced.contains { $0.service == "meridian-orders" && $0.kind == 2 && $0.name == "/api/orders" })
            #expect(traced.contains { $0.service == "meridian-payments" && $0.name == "process payment.requested" })
            #expect(traced.contains { $0.service == "meridian-orders" && $0.name == "process payment.succeeded" })
            #expect(traced.contains { $0.service == "meridian-notifications" && $0.name == "process order.confirmed" })
            Self.expectConnected(traced, trace: trace)
            // Spans of other requests (the admin's, the cart's) are other traces.
            #expect(spans.contains { $0.traceID != trace.hex })
        }
    }

    @Test func oneOrderIsOneTraceInOneProcessOnTheEmbeddedLog() async throws {
        let base = NSTemporaryDirectory() + "meridian-trace-" + UUID().uuidString
        defer { try? FileManager.default.removeItem(atPath: base) }
        try await OTLPReceiver.with { receiver in
            let environment = Self.environment(receiver)
            try await Self.createAdmin(dataDirectory: base, environment: environment)
            let trace = TraceID.random()
            try await StartedProcesses.around { started in
                let process = try started.start(dataDirectory: base, environment: environment)
                try await process.waitUntilServing()
                try await Self.placeOrder(APIClient(port: process.port), trace: trace)
                // An ingested event carries the ingest request's span, in the client's trace (another one).
                let ingestTrace = TraceID.random()
                let event = try await APIClient(port: process.port).call(
                    "POST", "/events", json: ["id": "traced-1", "type": "trace.test", "payload": [:] as [String: Any]],
                    headers: ["traceparent": "00-\(ingestTrace.hex)-\(ingestTrace.parentSpan)-01"])
                #expect(event.status == 202, "\(event)")
                let read = try await runMeridian(["log", "read", "--topic", "events", "--data-dir", base])
                let record = read.output.split(separator: "\n").first { $0.contains("traced-1") } ?? ""
                #expect(record.contains("\"traceparent\":\"00-\(ingestTrace.hex)-"), "\(read.output)")
                #expect(!record.contains(ingestTrace.parentSpan), "the ingest span's id, not the client's: \(record)")
                // A malformed traceparent starts a new trace; nothing of the request (its token) reaches the log.
                let api = APIClient(port: process.port)
                let token = try await api.login(email: "root@example.com", password: "a long admin password")
                for forged in ["garbage", "00-4BF92F3577B34DA6A3CE929D0E0E4736-00F067AA0BA902B7-01", "ff-\(trace.hex)-00"] {
                    let answer = try await api.call("GET", "/api/orders", token: token, headers: ["traceparent": forged])
                    #expect(answer.status == 200, "\(forged): \(answer)")
                }
                #expect(!process.log.contains(token), "the token is in the log:\n\(process.log)")
                #expect(!process.log.contains("Failed to extract"), "\(process.log)")
                // The log line of the notification (the log channel) names the span it was written in.
                let lines = process.log.split(separator: "\n").filter { $0.contains("\"trace_id\":\"\(trace.hex)\"") }
                #expect(lines.contains { $0.contains("\"span_id\":") }, "no log line of the trace:\n\(process.log)")
            }
            let spans = receiver.spans()
            let traced = spans.filter { $0.traceID == trace.hex }
            #expect(Set(traced.map(\.service)) == ["meridian"])
            // The probes (waitUntilServing asked /health) are not traced.
            #expect(!spans.contains { ["/health", "/ready", "/metrics"].contains($0.name) }, "\(spans)")
            for name in ["/api/orders", "process payment.requested", "process payment.succeeded", "process order.confirmed"] {
                #expect(traced.contains { $0.name == name }, "no span \(name): \(traced.map(\.name))")
            }
            Self.expectConnected(traced, trace: trace)
        }
    }

    @Test func theImageFunctionContinuesTheTraceOfTheCloudEventItGets() async throws {
        let photo = try #require(ImageFunctionSample.jpeg(width: 300, height: 300), "libvips makes a sample image")
        let directory = NSTemporaryDirectory() + "meridian-trace-function-" + UUID().uuidString
        let logPath = directory + ".log"
        defer {
            try? FileManager.default.removeItem(atPath: directory)
            try? FileManager.default.removeItem(atPath: logPath)
        }
        try await OTLPReceiver.with { receiver in
            let environment = Self.environment(receiver).merging(["MERIDIAN_DATA_DIR": directory]) { _, new in new }
            // The upload, where the function's local object store reads it.
            let settings = try MeridianSettings(
                reader: try await MeridianSettings.reader(environment: [
                    "MERIDIAN_DATA_DIR": directory, "MERIDIAN_ROLES": "images",
                ]),
                environment: [:])
            _ = try await settings.objects.makeStore().put(
                ObjectKey(rawValue: "uploads/products/p7/u7.jpg")!, contentType: "image/jpeg", bytes: photo)
            let port = try freePort()
            let function = try ChildProcess(
                MeridianProcess.binary, ["function", "images", "--runtime", "http", "--port", "\(port)"],
                environment: ProcessInfo.processInfo.environment.merging(environment) { _, new in new }, outputPath: logPath)
            let trace = TraceID.random()
            do {
                let client = APIClient(port: port)
                let deadline = ContinuousClock.now.advanced(by: .seconds(30))
                while (try? await client.call("GET", "/health"))?.status != 200 {
                    guard function.isRunning, ContinuousClock.now < deadline else {
                        throw TestFailure("the function did not start:\n\(function.output)")
                    }
                    try await Task.sleep(for: .milliseconds(100))
                }
                let answer = try await client.call(
                    "POST", "/",
                    body: Data(
                        #"{"bucket":"shop","name":"uploads/products/p7/u7.jpg","contentType":"image/jpeg","size":"100"}"#.utf8),
                    headers: [
                        "Content-Type": "application/json", "ce-specversion": "1.0", "ce-id": "7", "ce-source": "//storage",
                        "ce-type": "google.cloud.storage.object.v1.finalized",
                        "traceparent": "00-\(trace.hex)-\(trace.parentSpan)-01",
                    ])
                #expect(answer.status == 200 && answer.object["processed"] as? [String] == ["u7"], "\(answer)")
            } catch {
                _ = await function.stop()
                throw error
            }
            #expect(await function.stop() == 0, "\(function.output)")
            let traced = receiver.spans().filter { $0.traceID == trace.hex }
            #expect(traced.contains { $0.service == "meridian-images" && $0.kind == 2 }, "\(receiver.spans())")
            Self.expectConnected(traced, trace: trace)
            // Its product-images.processed events carry the trace on.
            let read = try await runMeridian(
                ["log", "read", "--topic", "product-images.processed", "--data-dir", directory])
            let records = read.output.split(separator: "\n")
            #expect(records.count == 3, "\(read.output)")
            #expect(records.allSatisfy { $0.contains("\"traceparent\":\"00-\(trace.hex)-") }, "\(read.output)")
        }
    }

    /// Tracing on, exported as JSON to `receiver`, batches sent every 100 ms (a standard OTEL_* variable on top).
    static func environment(_ receiver: OTLPReceiver) -> [String: String] {
        [
            "MERIDIAN_AUTH_JWT_SECRET": String(repeating: "t", count: 40), "MERIDIAN_USERS_BCRYPT_COST": "4",
            "MERIDIAN_TRACING_ENABLED": "true", "MERIDIAN_TRACING_PROTOCOL": "http/json",
            "MERIDIAN_TRACING_ENDPOINT": "http://127.0.0.1:\(receiver.port)/v1/traces", "OTEL_BSP_SCHEDULE_DELAY": "100",
        ]
    }

    static func createAdmin(dataDirectory: String, environment: [String: String]) async throws {
        let admin = try await runMeridian(
            ["users", "create-admin", "--email", "root@example.com", "--data-dir", dataDirectory], environment: environment,
            input: "a long admin password\n")
        #expect(admin.status == 0, "\(admin.output)")
    }

    /// A product, a customer with it in the cart, and the order placed in `trace`, until it is confirmed and
    /// the customer notified.
    static func placeOrder(_ api: APIClient, trace: TraceID) async throws {
        let root = try await api.login(email: "root@example.com", password: "a long admin password")
        let created = try await api.call(
            "POST", "/api/products", token: root,
            json: ["name": "Lamp", "category": "home", "price_cents": 4500, "currency": "EUR", "stock": 3])
        let lamp = try #require(created.object["id"] as? String, "\(created)")
        let ada = try await api.customer("ada@example.com")
        #expect(
            try await api.call("POST", "/api/cart/items", token: ada, json: ["product_id": lamp, "quantity": 1]).status == 200)
        let placed = try await api.call(
            "POST", "/api/orders", token: ada, json: ["payment_method": "pm_card_visa"],
            headers: ["traceparent": "00-\(trace.hex)-\(trace.parentSpan)-01"])
        let id = try #require(placed.object["id"] as? String, "\(placed)")
        _ = try await api.eventually("/api/orders/\(id)", token: ada, timeout: .seconds(60)) {
            $0.object["status"] as? String == "CONFIRMED"
        }
        _ = try await api.eventually("/api/notifications", token: ada, timeout: .seconds(30)) {
            $0.items.contains { $0["status"] as? String == "sent" && ($0["subject"] as? String)?.contains("confirmed") == true }
        }
    }

    /// One connected trace: each span's parent is a span received, except the root's, which is the client's span.
    static func expectConnected(_ spans: [ReceivedSpan], trace: TraceID, sourceLocation: SourceLocation = #_sourceLocation) {
        let ids = Set(spans.map(\.spanID))
        let orphans = spans.filter { !ids.contains($0.parentSpanID) && $0.parentSpanID != trace.parentSpan }
        #expect(orphans.isEmpty, "spans whose parent is not in the trace: \(orphans)", sourceLocation: sourceLocation)
        let roots = spans.filter { $0.parentSpanID == trace.parentSpan }
        #expect(roots.count == 1, "one child of the client's span: \(roots)", sourceLocation: sourceLocation)
    }
}

/// A W3C trace id and the client's span id, as lowercase hex.
struct TraceID: Sendable {
    let hex: String
    let parentSpan: String

    static func random() -> TraceID {
        func hex(_ count: Int) -> String { (0..<count).map { _ in String(format: "%02x", UInt8.random(in: 0...255)) }.joined() }
        return TraceID(hex: hex(16), parentSpan: hex(8))
    }
}

/// A span as OTLP/JSON carries it.
struct ReceivedSpan: Sendable, CustomStringConvertible {
    var service: String
    var name: String
    var kind: Int
    var traceID: String
    var spanID: String
    var parentSpanID: String

    var description: String { "\(service): \(name) [\(spanID) ← \(parentSpanID)]" }
}

/// An OTLP/HTTP traces endpoint in the test process: keeps each request's body.
final class OTLPReceiver: Sendable {
    let port: Int
    private let bodies: Bodies

    /// The bodies received, shared with the route.
    final class Bodies: Sendable {
        let received = Mutex<[Data]>([])
    }

    private init(port: Int, bodies: Bodies) {
        self.port = port
        self.bodies = bodies
    }

    /// Runs `body` with a receiver listening on a free port, and stops it afterwards.
    static func with<T: Sendable>(_ body: (OTLPReceiver) async throws -> T) async throws -> T {
        let bodies = Bodies()
        let router = Router()
        router.post("/v1/traces") { request, _ -> Response in
            let buffer = try await request.body.collect(upTo: 64 << 20)
            bodies.received.withLock { $0.append(Data(buffer.readableBytesView)) }
            return Response(
                status: .ok, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(string: "{}")))
        }
        let port = PortPromise()
        var logger = Logger(label: "otlp-receiver")
        logger.logLevel = .warning
        let app = Application(
            router: router, configuration: .init(address: .hostname("127.0.0.1", port: 0)),
            onServerRunning: { port.fulfil($0.localAddress?.port ?? 0) }, logger: logger)
        let group = ServiceGroup(services: [app], logger: logger)
        let running = Task { try await group.run() }
        let receiver = OTLPReceiver(port: await port.value, bodies: bodies)
        let result: Result<T, any Error>
        do {
            result = .success(try await body(receiver))
        } catch {
            result = .failure(error)
        }
        await group.triggerGracefulShutdown()
        _ = try? await running.value
        return try result.get()
    }

    /// Every span received so far.
    func spans() -> [ReceivedSpan] {
        var spans: [ReceivedSpan] = []
        for body in bodies.received.withLock({ $0 }) {
            guard let object = try? JSONSerialization.jsonObject(with: body) as? [String: Any] else { continue }
            for resource in object["resourceSpans"] as? [[String: Any]] ?? [] {
                let attributes = (resource["resource"] as? [String: Any])?["attributes"] as? [[String: Any]] ?? []
                let service =
                    attributes.first { $0["key"] as? String == "service.name" }
                    .flatMap { ($0["value"] as? [String: Any])?["stringValue"] as? String } ?? "?"
                for scope in resource["scopeSpans"] as? [[String: Any]] ?? [] {
                    for span in scope["spans"] as? [[String: Any]] ?? [] {
                        spans.append(
                            ReceivedSpan(
                                service: service, name: span["name"] as? String ?? "", kind: span["kind"] as? Int ?? 0,
                                traceID: Self.hex(span["traceId"]), spanID: Self.hex(span["spanId"]),
                                parentSpanID: Self.hex(span["parentSpanId"])))
                    }
                }
            }
        }
        return spans
    }

    /// An id as lowercase hex: OTLP/JSON says hex, protobuf's JSON mapping writes bytes as base64; either is read.
    static func hex(_ value: Any?) -> String {
        guard let text = value as? String, !text.isEmpty else { return "" }
        if text.count == 32 || text.count == 16, text.allSatisfy(\.isHexDigit) { return text.lowercased() }
        guard let bytes = Data(base64Encoded: text) else { return text }
        return bytes.map { String(format: "%02x", $0) }.joined()
    }
}
