import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Logging
import MeridianApp
import MeridianAuth
import MeridianGateway
import MeridianHTTP
import MeridianTestSupport
import MeridianUsers
import Prometheus
import Testing

/// The router `meridian serve` builds: the edge's rate limits, security headers and CORS around a role's API.
@Suite struct RouterTests {
    func application(_ base: CommerceHarness, _ gateway: RateLimitMiddleware.Configuration, cors: String = "")
        -> some ApplicationProtocol
    {
        var configuration = UsersController.Configuration()
        configuration.bcryptCost = 4
        let registry = PrometheusCollectorRegistry()
        let router = buildRouter(
            eventLog: NeverEventLog(), ingestor: nil, registry: registry, metrics: makeMetricsFactory(registry: registry),
            tokens: base.tokens,
            routes: [
                UsersController(
                    users: SQLUserStore(store: base.store), tokens: base.tokens, configuration: configuration,
                    logger: Logger(label: "test"))
            ],
            gateway: gateway, corsOrigin: cors)
        return Application(router: router)
    }

    @Test func aSignedInUserIsRateLimitedOnItsOwn() async throws {
        let base = try await CommerceHarness(migrations: [("users", SQLUserStore.migrations)])
        var gateway = RateLimitMiddleware.Configuration()
        gateway.userRate = 0.01
        gateway.userBurst = 2
        gateway.addressRate = 0
        let ada = try await base.headers("ada")
        let bob = try await base.headers("bob")
        try await application(base, gateway).test(.router) { client in
            var statuses: [HTTPResponse.Status] = []
            for _ in 0..<3 { statuses.append(try await client.execute(uri: "/api/users/me", method: .get, headers: ada).status) }
            #expect(statuses.prefix(2).allSatisfy { $0 != .tooManyRequests })
            let limited = try await client.execute(uri: "/api/users/me", method: .get, headers: ada)
            #expect(limited.status == .tooManyRequests)
            #expect(Int(limited.headers[.retryAfter] ?? "") ?? 0 >= 1)
            #expect(limited.headers[.contentType] == "application/problem+json")
            #expect(try await client.execute(uri: "/api/users/me", method: .get, headers: bob).status != .tooManyRequests)
        }
        await base.close()
    }

    @Test func anAddressIsRateLimitedBeforeSigningIn() async throws {
        let base = try await CommerceHarness(migrations: [("users", SQLUserStore.migrations)])
        var gateway = RateLimitMiddleware.Configuration()
        gateway.addressRate = 0.01
        gateway.addressBurst = 3
        try await application(base, gateway).test(.router) { client in
            var statuses: [HTTPResponse.Status] = []
            for _ in 0..<4 {
                statuses.append(
                    try await client.execute(
                        uri: "/api/auth/login", method: .post, headers: [.contentType: "application/json"],
                        body: ByteBuffer(string: #"{"email":"a@example.com","password":"whatever1"}"#)
                    ).status)
            }
            #expect(statuses == [.unauthorized, .unauthorized, .unauthorized, .tooManyRequests])
            // Probes are not part of the public API and are never limited.
            #expect(try await client.execute(uri: "/health", method: .get).status == .ok)
        }
        await base.close()
    }

    @Test func securityHeadersAndCORS() async throws {
        let base = try await CommerceHarness(migrations: [("users", SQLUserStore.migrations)])
        try await application(base, .init(), cors: "https://shop.example").test(.router) { client in
            let response = try await client.execute(uri: "/api/users/me", method: .get)
            #expect(response.headers[HTTPField.Name("X-Content-Type-Options")!] == "nosniff")
            #expect(response.headers[HTTPField.Name("X-Frame-Options")!] == "DENY")
            #expect(response.headers[.contentSecurityPolicy]?.contains("default-src 'none'") == true)
            let preflight = try await client.execute(
                uri: "/api/users", method: .options,
                headers: [.origin: "https://shop.example", .accessControlRequestMethod: "POST"])
            #expect(preflight.headers[.accessControlAllowOrigin] == "https://shop.example")
            #expect(preflight.headers[.accessControlAllowMethods]?.contains("POST") == true)
        }
        await base.close()
    }
}
