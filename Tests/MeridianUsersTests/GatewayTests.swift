import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Logging
import MeridianApp
import MeridianAuth
import MeridianHTTP
import MeridianTestSupport
import MeridianUsers
import Prometheus
import Testing

@Suite struct GatewayTests {
    func application(_ base: CommerceHarness, _ gateway: GatewayMiddleware.Configuration, cors: String = "")
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
                    users: UserStore(store: base.store), tokens: base.tokens, configuration: configuration,
                    logger: Logger(label: "test"))
            ],
            gateway: gateway, corsOrigin: cors)
        return Application(router: router)
    }

    @Test func aSignedInUserIsRateLimitedOnItsOwn() async throws {
        let base = try await CommerceHarness(roles: [.users])
        var gateway = GatewayMiddleware.Configuration()
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
        let base = try await CommerceHarness(roles: [.users])
        var gateway = GatewayMiddleware.Configuration()
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
        let base = try await CommerceHarness(roles: [.users])
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

/// An account service that counts the questions and can be told to fail.
final class CountingAccounts: AccountStatus, @unchecked Sendable {
    private let lock = NSLock()
    private var disabled: Set<String> = []
    private var failing = false
    private(set) var questions = 0

    func isActive(_ userID: String) async throws -> Bool {
        try lock.withLock {
            questions += 1
            if failing { throw TokenError("users service down") }
            return !disabled.contains(userID)
        }
    }

    func disable(_ userID: String) { lock.withLock { _ = disabled.insert(userID) } }
    func fail(_ value: Bool) { lock.withLock { failing = value } }
}

@Suite struct CachedAccountStatusTests {
    final class Clock: @unchecked Sendable {
        var now = 100.0
    }

    @Test func answersAreTrustedForTheirTimeThenAskedAgain() async throws {
        let upstream = CountingAccounts()
        let clock = Clock()
        let cache = CachedAccountStatus(upstream: upstream, ttl: .seconds(2), clock: { clock.now })
        #expect(try await cache.isActive("ada"))
        #expect(try await cache.isActive("ada"))
        #expect(upstream.questions == 1)
        upstream.disable("ada")
        clock.now += 1
        #expect(try await cache.isActive("ada"), "within the time, the last answer stands")
        clock.now += 1.5
        #expect(try await cache.isActive("ada") == false, "after it, the users service is asked again")
        #expect(upstream.questions == 2)
    }

    @Test func forgettingAnAnswerTakesEffectAtOnce() async throws {
        let upstream = CountingAccounts()
        let cache = CachedAccountStatus(upstream: upstream, ttl: .seconds(60))
        #expect(try await cache.isActive("ada"))
        upstream.disable("ada")
        cache.forget("ada")
        #expect(try await cache.isActive("ada") == false)
    }

    @Test func whenTheUsersServiceIsDownTheLastAnswerStandsAndWithoutOneTheErrorGoesUp() async throws {
        let upstream = CountingAccounts()
        let clock = Clock()
        let cache = CachedAccountStatus(upstream: upstream, ttl: .seconds(1), clock: { clock.now })
        #expect(try await cache.isActive("ada"))
        upstream.fail(true)
        clock.now += 10
        #expect(try await cache.isActive("ada"))
        await #expect(throws: TokenError.self) { try await cache.isActive("bob") }
    }
}
