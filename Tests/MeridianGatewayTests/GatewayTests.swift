import AsyncHTTPClient
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import MeridianHTTP
import MeridianTestSupport
import Testing

@testable import MeridianGateway

@Suite struct RateLimitTests {
    func application(_ limits: RateLimitMiddleware.Configuration, viaGateway: Bool = false) -> some ApplicationProtocol {
        let router = Router(context: MeridianRequestContext.self)
        router.add(middleware: ProblemMiddleware())
        router.add(middleware: MarkMiddleware(viaGateway: viaGateway))
        router.add(middleware: RateLimitMiddleware(configuration: limits))
        router.get("api/things") { _, _ in Response(status: .noContent) }
        router.get("health") { _, _ in Response(status: .ok) }
        return Application(router: router)
    }

    /// Plays the part of the client-address and gateway-identity middleware.
    struct MarkMiddleware: RouterMiddleware {
        typealias Context = MeridianRequestContext
        let viaGateway: Bool

        func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws
            -> Response
        {
            var context = context
            context.viaGateway = viaGateway
            if let client = request.headers[.xForwardedFor] { context.clientAddress = client }
            return try await next(request, context)
        }
    }

    var strict: RateLimitMiddleware.Configuration {
        var limits = RateLimitMiddleware.Configuration()
        limits.addressRate = 0.01
        limits.addressBurst = 2
        limits.userRate = 0
        return limits
    }

    @Test func eachClientAddressHasItsOwnBucket() async throws {
        try await application(strict).test(.router) { client in
            func get(_ address: String) async throws -> HTTPResponse.Status {
                try await client.execute(uri: "/api/things", method: .get, headers: [.xForwardedFor: address]).status
            }
            #expect(try await get("198.51.100.1") == .noContent)
            #expect(try await get("198.51.100.1") == .noContent)
            let limited = try await client.execute(uri: "/api/things", method: .get, headers: [.xForwardedFor: "198.51.100.1"])
            #expect(limited.status == .tooManyRequests && limited.headers[.retryAfter] != nil)
            #expect(try await get("198.51.100.2") == .noContent, "another client is not held back")
            #expect(try await client.execute(uri: "/health", method: .get).status == .ok, "probes are never limited")
        }
    }

    @Test func whatTheGatewayForwardedWasLimitedThereAlready() async throws {
        try await application(strict, viaGateway: true).test(.router) { client in
            for _ in 0..<10 {
                let status = try await client.execute(uri: "/api/things", method: .get).status
                #expect(status == .noContent)
            }
        }
    }
}

@Suite struct ServiceProxyTests {
    @Test func aServiceThatIsDownIsAQuick503WithRetryAfter() async throws {
        let down = try freePort()
        let http = HTTPClient(
            eventLoopGroupProvider: .singleton,
            configuration: {
                var configuration = HTTPClient.Configuration()
                configuration.connectionPool.retryConnectionEstablishment = false
                configuration.timeout.connect = .seconds(1)
                return configuration
            }())
        let proxy = ServiceProxyMiddleware(
            routes: [GatewayRoute(prefix: "/api/products", service: "products", baseURL: "http://127.0.0.1:\(down)")],
            maxBody: 1024, http: http, requestTimeout: .seconds(5), retryBackoff: .milliseconds(10), proof: { "proof" })
        let router = Router(context: MeridianRequestContext.self)
        router.add(middleware: ProblemMiddleware())
        router.add(middleware: proxy)
        try await Application(router: router).test(.router) { client in
            let start = ContinuousClock.now
            let answer = try await client.execute(uri: "/api/products", method: .get)
            #expect(answer.status == .serviceUnavailable)
            #expect(answer.headers[.retryAfter] == "1")
            #expect(answer.headers[.contentType] == "application/problem+json")
            // Known at once, not after a timeout (it took 30 s through the gateway); generous for a loaded machine.
            #expect(start.duration(to: .now) < .seconds(8), "a refused connection is known at once")
        }
        try await http.shutdown()
    }

    @Test func theProxyForwardsTheClientAndProvesItIsTheGateway() async throws {
        let upstream = Router()
        upstream.get("api/products") { request, _ -> String in
            "\(request.headers[.xForwardedFor] ?? "-") \(request.headers[HTTPField.Name("X-Meridian-Gateway")!] ?? "-")"
        }
        try await Application(router: upstream).test(.live) { upstreamClient in
            let port = try #require(upstreamClient.port)
            let http = HTTPClient(eventLoopGroupProvider: .singleton)
            let proxy = ServiceProxyMiddleware(
                routes: [GatewayRoute(prefix: "/api/products", service: "products", baseURL: "http://127.0.0.1:\(port)")],
                maxBody: 1024, http: http, requestTimeout: .seconds(5), retryBackoff: .milliseconds(10), proof: { "the-proof" })
            let router = Router(context: MeridianRequestContext.self)
            router.add(middleware: ProblemMiddleware())
            router.add(middleware: RateLimitTests.MarkMiddleware(viaGateway: false))
            router.add(middleware: proxy)
            try await Application(router: router).test(.router) { client in
                // A forged header from the client is replaced by what the gateway determined.
                let answer = try await client.execute(
                    uri: "/api/products", method: .get,
                    headers: [.xForwardedFor: "198.51.100.3", HTTPField.Name("X-Meridian-Gateway")!: "forged"])
                #expect(String(buffer: answer.body) == "198.51.100.3 the-proof")
            }
            try await http.shutdown()
        }
    }
}
