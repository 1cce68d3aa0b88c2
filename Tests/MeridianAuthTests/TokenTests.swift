import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import MeridianContracts
import MeridianHTTP
import MeridianTestSupport
import Testing

@testable import MeridianAuth

@Suite struct TokenTests {
    @Test func aTokenSaysWhoAndWhatUntilItExpires() async throws {
        let tokens = try await TokenService(secret: String(repeating: "s", count: 32), lifetime: .seconds(60))
        let token = try await tokens.issue(for: Principal(userID: "ada", role: .customer))
        #expect(try await tokens.verify(token) == Principal(userID: "ada", role: .customer))
        let old = try await tokens.issue(for: Principal(userID: "ada", role: .customer), now: Date().addingTimeInterval(-120))
        await #expect(throws: (any Error).self) { try await tokens.verify(old) }
        let other = try await TokenService(secret: String(repeating: "o", count: 32))
        await #expect(throws: (any Error).self) { try await other.verify(token) }
        await #expect(throws: TokenError.self) { try await TokenService(secret: "short") }
    }

    @Test func aServiceTokenIsNoPersonsAndAPersonsTokenOpensNoInternalRoute() async throws {
        let tokens = try await TokenService(secret: String(repeating: "s", count: 32))
        let router = serviceRouter([InternalProbe()], tokens: tokens)
        try await Application(router: router).test(.router) { client in
            for (principal, status) in [
                (Principal.service("orders"), HTTPResponse.Status.noContent),
                (Principal(userID: "root", role: .admin), .forbidden),
                (Principal(userID: "ada", role: .customer), .forbidden),
            ] {
                let token = try await tokens.issue(for: principal)
                let answer = try await client.execute(
                    uri: "/internal/probe", method: .get, headers: [.authorization: "Bearer \(token)"])
                #expect(answer.status == status, "\(principal)")
            }
            #expect(try await client.execute(uri: "/internal/probe", method: .get).status == .unauthorized)
        }
    }

    @Test func aDisabledAccountsTokenIsRefusedAndAnUnansweredQuestionIsA503() async throws {
        let tokens = try await TokenService(secret: String(repeating: "s", count: 32))
        let accounts = CountingAccounts()
        let router = serviceRouter([InternalProbe()], tokens: tokens, accounts: accounts)
        let ada = try await tokens.issue(for: Principal(userID: "ada", role: .customer))
        try await Application(router: router).test(.router) { client in
            #expect(
                try await client.execute(uri: "/api/probe", method: .get, headers: [.authorization: "Bearer \(ada)"]).status
                    == .noContent)
            accounts.disable(UserID("ada"))
            let refused = try await client.execute(uri: "/api/probe", method: .get, headers: [.authorization: "Bearer \(ada)"])
            #expect(refused.status == .unauthorized)
            accounts.fail(true)
            let unknown = try await client.execute(uri: "/api/probe", method: .get, headers: [.authorization: "Bearer \(ada)"])
            #expect(unknown.status == .serviceUnavailable)
            #expect(unknown.headers[.retryAfter] != nil)
            // Service tokens are not accounts: never asked about.
            let service = try await tokens.issue(for: .service("orders"))
            #expect(
                try await client.execute(uri: "/internal/probe", method: .get, headers: [.authorization: "Bearer \(service)"])
                    .status
                    == .noContent)
        }
    }

    @Test func onlyAGatewayTokenMakesARequestOneTheGatewayForwarded() async throws {
        let tokens = try await TokenService(secret: String(repeating: "s", count: 32))
        let router = Router(context: MeridianRequestContext.self)
        router.add(middleware: GatewayIdentityMiddleware(tokens: tokens))
        router.get("whoami") { _, context in "\(context.viaGateway) \(context.clientAddress)" }
        let gateway = try await tokens.issue(for: .service("gateway"))
        let orders = try await tokens.issue(for: .service("orders"))
        try await Application(router: router).test(.router) { client in
            func ask(_ proof: String?) async throws -> String {
                var headers: HTTPFields = [.xForwardedFor: "198.51.100.7"]
                if let proof { headers[.meridianGateway] = proof }
                return String(buffer: try await client.execute(uri: "/whoami", method: .get, headers: headers).body)
            }
            let answers = [try await ask(gateway), try await ask(orders), try await ask("forged"), try await ask(nil)]
            #expect(answers[0] == "true 198.51.100.7")
            #expect(answers.dropFirst().allSatisfy { $0.hasPrefix("false") }, "\(answers)")
        }
    }
}

/// `/internal/probe` (service tokens only) and `/api/probe` (any signed-in user).
struct InternalProbe: APIRoutes {
    func addRoutes(to router: some RouterMethods<MeridianRequestContext>) {
        router.get("internal/probe") { _, context -> Response in
            _ = try context.requireService()
            return Response(status: .noContent)
        }
        router.get("api/probe") { _, context -> Response in
            _ = try context.requirePrincipal()
            return Response(status: .noContent)
        }
    }
}
