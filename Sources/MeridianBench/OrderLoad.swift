import AsyncHTTPClient
import Foundation
import Histogram
import MeridianCore
import NIOCore
import NIOHTTP1
import NIOPosix

/// The order benchmark's simulated customers: each registers once, then repeatedly adds a product to
/// its cart, orders the cart (`pm_card_visa`) and waits until the order is confirmed, as a shopper would:
/// by asking for the order with `Prefer: wait` (the server answers once the payment settled), or, in
/// ``WaitMode/poll``, by polling it every 5 to 20 ms as a client without long polling would.
///
/// Placement latency is the `POST /api/orders` round trip; time to confirmation comes from the server's own
/// timestamps (`updated_at - created_at` of the confirmed order), so polling granularity does not blur it.
public struct OrderLoad: Sendable {
    /// How a customer waits for its order's confirmation.
    public enum WaitMode: String, Sendable, CaseIterable {
        /// `GET /api/orders/{id}` with `Prefer: wait=10`, again while it is still awaiting payment.
        case prefer
        /// `GET /api/orders/{id}` every 5 ms, doubling to at most 20 ms.
        case poll
    }

    public struct Options: Sendable {
        public var target: String
        public var wait: WaitMode = .prefer
        /// Ordering before the measurement starts (consumer groups joining, caches warming); not counted.
        public var warmup: Duration = .zero
        public var customers: Int
        public var duration: Duration
        public var products: Int
        public var adminEmail: String
        public var adminPassword: String

        public init(
            target: String, customers: Int, duration: Duration, products: Int, adminEmail: String, adminPassword: String
        ) {
            self.target = target
            self.customers = customers
            self.duration = duration
            self.products = products
            self.adminEmail = adminEmail
            self.adminPassword = adminPassword
        }
    }

    /// What a run measured.
    public struct Result: Sendable {
        public var placed = 0
        public var confirmed = 0
        /// Orders that ended FAILED or CANCELLED.
        public var notConfirmed = 0
        /// Placements answered with something else than 201, by status.
        public var refused: [Int: Int] = [:]
        public var errors = 0
        public var seconds = 0.0
        /// Microseconds.
        public var placement = Histogram<UInt64>(highestTrackableValue: 120_000_000)
        /// Microseconds (server timestamps, millisecond resolution).
        public var confirmation = Histogram<UInt64>(highestTrackableValue: 600_000_000)

        public var confirmedPerSecond: Double { seconds > 0 ? Double(confirmed) / seconds : 0 }

        public static func milliseconds(_ histogram: Histogram<UInt64>, _ percentile: Double) -> Double {
            Double(histogram.valueAtPercentile(percentile)) / 1000
        }

        mutating func merge(_ other: Result) {
            placed += other.placed
            confirmed += other.confirmed
            notConfirmed += other.notConfirmed
            refused.merge(other.refused, uniquingKeysWith: +)
            errors += other.errors
            placement.add(other.placement)
            confirmation.add(other.confirmation)
        }
    }

    /// The target refused a set-up step.
    public struct SetupFailed: Error, CustomStringConvertible {
        public var description: String
    }

    let options: Options

    public init(options: Options) {
        self.options = options
    }

    public func run() async throws -> Result {
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        var configuration = HTTPClient.Configuration()
        configuration.connectionPool = .init(
            idleTimeout: .seconds(60), concurrentHTTP1ConnectionsPerHostSoftLimit: options.customers + 8)
        configuration.timeout = .init(connect: .seconds(5), read: .seconds(60))
        let client = HTTPClient(eventLoopGroupProvider: .shared(group), configuration: configuration)
        do {
            let result = try await run(client)
            try await client.shutdown()
            try await group.shutdownGracefully()
            return result
        } catch {
            try? await client.shutdown()
            try? await group.shutdownGracefully()
            throw error
        }
    }

    private func run(_ client: HTTPClient) async throws -> Result {
        let api = API(client: client, base: options.target)
        let run = RandomID.uuidString().prefix(8).lowercased()
        let admin = try await api.login(email: options.adminEmail, password: options.adminPassword)
        var products: [String] = []
        for number in 0..<options.products {
            let created = try await api.call(
                .POST, "/api/products", token: admin,
                json: [
                    "name": "bench-\(run)-\(number)", "category": "bench", "price_cents": 1000 + number, "currency": "USD",
                    "stock": 1_000_000_000,
                ])
            guard created.status == 201, let id = created.object["id"] as? String else {
                throw SetupFailed(description: "creating a product: \(created.status) \(created.text)")
            }
            products.append(id)
        }
        let tokens = try await withThrowingTaskGroup(of: String.self) { group in
            for number in 0..<options.customers {
                group.addTask {
                    let email = "bench-\(run)-\(number)@example.com"
                    let password = "bench-password-\(run)"
                    let registered = try await api.call(
                        .POST, "/api/users", json: ["email": email, "password": password, "name": "Customer \(number)"])
                    guard registered.status == 201 else {
                        throw SetupFailed(description: "registering: \(registered.status) \(registered.text)")
                    }
                    return try await api.login(email: email, password: password)
                }
            }
            return try await group.reduce(into: [String]()) { $0.append($1) }
        }

        let start = ContinuousClock.now.advanced(by: options.warmup)
        let deadline = start.advanced(by: options.duration)
        let catalog = products
        var result = try await withThrowingTaskGroup(of: Result.self) { group in
            for (number, token) in tokens.enumerated() {
                group.addTask {
                    try await Self.shop(
                        api: api, token: token, products: catalog, seed: number, wait: options.wait, from: start,
                        until: deadline)
                }
            }
            return try await group.reduce(into: Result()) { $0.merge($1) }
        }
        result.seconds = start.duration(to: .now).timeInterval
        return result
    }

    /// One customer's loop until the deadline.
    static func shop(
        api: API, token: String, products: [String], seed: Int, wait: WaitMode, from start: ContinuousClock.Instant,
        until deadline: ContinuousClock.Instant
    ) async throws -> Result {
        var counted = Result()
        var next = seed
        while ContinuousClock.now < deadline {
            next = (next &* 1_103_515_245 &+ 12_345) & 0x7fff_ffff
            // An order placed during the warm-up is not counted, whenever it is confirmed.
            var result = Result()
            let measured = ContinuousClock.now >= start
            defer { if measured { counted.merge(result) } }
            do {
                let added = try await api.call(
                    .POST, "/api/cart/items", token: token, json: ["product_id": products[next % products.count], "quantity": 1])
                guard added.status == 200 else {
                    result.refused[added.status, default: 0] += 1
                    continue
                }
                let sent = ContinuousClock.now
                let placed = try await api.call(
                    .POST, "/api/orders", token: token, json: ["payment_method": "pm_card_visa"],
                    headers: ["Idempotency-Key": RandomID.uuidString()])
                result.placement.record(UInt64(max(0, sent.duration(to: .now).timeInterval * 1_000_000)))
                guard placed.status == 201, let id = placed.object["id"] as? String else {
                    result.refused[placed.status, default: 0] += 1
                    continue
                }
                result.placed += 1
                var pause = Duration.milliseconds(5)
                while true {
                    let order: [String: Any]
                    switch wait {
                    case .prefer:
                        order = try await api.call(.GET, "/api/orders/\(id)", token: token, headers: ["Prefer": "wait=10"])
                            .object
                    case .poll:
                        try await Task.sleep(for: pause)
                        pause = min(pause * 2, .milliseconds(20))
                        order = try await api.call(.GET, "/api/orders/\(id)", token: token).object
                    }
                    let status = order["status"] as? String
                    if status == "AWAITING_PAYMENT" { continue }
                    if status == "CONFIRMED", let created = (order["created_at"] as? String).flatMap(Timestamp.parse),
                        let confirmed = (order["updated_at"] as? String).flatMap(Timestamp.parse)
                    {
                        result.confirmed += 1
                        result.confirmation.record(UInt64(max(0, confirmed.timeIntervalSince(created) * 1_000_000)))
                    } else {
                        result.notConfirmed += 1
                    }
                    break
                }
            } catch {
                result.errors += 1
            }
        }
        return counted
    }

    /// JSON calls to the target.
    struct API: Sendable {
        let client: HTTPClient
        let base: String

        struct Answer {
            var status: Int
            var body: ByteBuffer
            var text: String { String(buffer: body) }
            var object: [String: Any] {
                (try? JSONSerialization.jsonObject(with: Data(body.readableBytesView)) as? [String: Any]) ?? [:]
            }
        }

        func call(
            _ method: HTTPMethod, _ path: String, token: String? = nil, json: [String: Any]? = nil,
            headers: [String: String] = [:]
        ) async throws -> Answer {
            var request = HTTPClientRequest(url: base + path)
            request.method = method
            if let token { request.headers.add(name: "Authorization", value: "Bearer \(token)") }
            if let json {
                request.headers.add(name: "Content-Type", value: "application/json")
                request.body = .bytes(ByteBuffer(bytes: try JSONSerialization.data(withJSONObject: json)))
            }
            for (name, value) in headers { request.headers.add(name: name, value: value) }
            let response = try await client.execute(request, timeout: .seconds(60))
            let body = try await response.body.collect(upTo: 4 * 1_048_576)
            return Answer(status: Int(response.status.code), body: body)
        }

        func login(email: String, password: String) async throws -> String {
            let answer = try await call(.POST, "/api/auth/login", json: ["email": email, "password": password])
            guard answer.status == 200, let token = answer.object["token"] as? String else {
                throw SetupFailed(description: "logging in as \(email): \(answer.status) \(answer.text)")
            }
            return token
        }
    }
}
