import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Logging
import MeridianAuth
import MeridianContracts
import MeridianCore
import MeridianHTTP
import MeridianStorage
import MeridianTestSupport
import MeridianUsers
import Testing

/// The users API through the same router `meridian serve` builds, on the shared test harness.
/// (`@unchecked`: the router is only mutated while the harness is built.)
final class UsersHarness: @unchecked Sendable {
    let base: CommerceHarness
    let controller: UsersController
    let router: Router<MeridianRequestContext>

    init() async throws {
        base = try await CommerceHarness(migrations: [("users", SQLUserStore.migrations)])
        var configuration = UsersController.Configuration()
        configuration.bcryptCost = 4
        controller = UsersController(
            users: SQLUserStore(store: base.store), tokens: base.tokens, configuration: configuration,
            logger: Logger(label: "test"))
        router = base.router([controller], accounts: StoreUserDirectory(users: SQLUserStore(store: base.store)))
    }

    var tokens: TokenService { base.tokens }
    var application: some ApplicationProtocol { Application(router: router) }
    func close() async { await base.close() }
}

let json: HTTPFields = [.contentType: "application/json"]

func bearer(_ token: String) -> HTTPFields {
    [.contentType: "application/json", .authorization: "Bearer \(token)"]
}

@Suite struct UsersAPITests {
    func register(_ client: some TestClientProtocol, _ email: String, _ password: String = "correct horse battery")
        async throws -> TestResponse
    {
        try await client.execute(
            uri: "/api/users", method: .post, headers: json,
            body: ByteBuffer(string: #"{"email":"\#(email)","password":"\#(password)","name":"N"}"#))
    }

    func login(_ client: some TestClientProtocol, _ email: String, _ password: String = "correct horse battery")
        async throws -> TestResponse
    {
        try await client.execute(
            uri: "/api/auth/login", method: .post, headers: json,
            body: ByteBuffer(string: #"{"email":"\#(email)","password":"\#(password)"}"#))
    }

    @Test func registerLoginAndReadMe() async throws {
        let harness = try await UsersHarness()
        try await harness.application.test(.router) { client in
            let created = try await register(client, "Ada@Example.com ")
            #expect(created.status == .created)
            #expect(created.object["email"] as? String == "ada@example.com")
            #expect(created.object["role"] as? String == "customer")
            #expect(created.object["password"] == nil && created.object["password_hash"] == nil)

            let session = try await login(client, "ada@example.com")
            #expect(session.status == .ok)
            let token = try #require(session.object["token"] as? String)
            #expect(session.object["expires_in"] as? Int == 3600)
            let principal = try await harness.tokens.verify(token)
            #expect(principal.userID == created.object["id"] as? String)

            let me = try await client.execute(uri: "/api/users/me", method: .get, headers: bearer(token))
            #expect(me.status == .ok)
            #expect(me.object["email"] as? String == "ada@example.com")

            let renamed = try await client.execute(
                uri: "/api/users/me", method: .patch, headers: bearer(token), body: ByteBuffer(string: #"{"name":"Ada L."}"#))
            #expect(renamed.object["name"] as? String == "Ada L.")
        }
        await harness.close()
    }

    @Test func mistakesAreNamedProblems() async throws {
        let harness = try await UsersHarness()
        try await harness.application.test(.router) { client in
            #expect(try await register(client, "dup@example.com").status == .created)
            let duplicate = try await register(client, "DUP@example.com")
            #expect(duplicate.status == .conflict)
            #expect(duplicate.object["field"] as? String == "email")
            let badEmail = try await register(client, "not-an-email")
            #expect(badEmail.status == .unprocessableContent)
            #expect(badEmail.object["field"] as? String == "email")
            let short = try await register(client, "short@example.com", "1234567")
            #expect(short.status == .unprocessableContent)
            #expect(short.object["field"] as? String == "password")
            let common = try await register(client, "common@example.com", "Password123")
            #expect(common.object["field"] as? String == "password")
            let missing = try await client.execute(
                uri: "/api/users", method: .post, headers: json, body: ByteBuffer(string: #"{"email":"x@example.com"}"#))
            #expect(missing.status == .badRequest)
            #expect(missing.object["field"] as? String == "password")
            let text = try await client.execute(
                uri: "/api/users", method: .post, headers: [.contentType: "text/plain"], body: ByteBuffer(string: "hi"))
            #expect(text.status == .unsupportedMediaType)
            #expect(try await login(client, "dup@example.com", "wrong password!").status == .unauthorized)
            #expect(try await login(client, "nobody@example.com").status == .unauthorized)
        }
        await harness.close()
    }

    @Test func tokensAreRequiredAndChecked() async throws {
        let harness = try await UsersHarness()
        try await harness.application.test(.router) { client in
            let anonymous = try await client.execute(uri: "/api/users/me", method: .get)
            #expect(anonymous.status == .unauthorized)
            #expect(anonymous.headers[.contentType] == "application/problem+json")
            let forged = try await client.execute(uri: "/api/users/me", method: .get, headers: bearer("a.b.c"))
            #expect(forged.status == .unauthorized)
            let other = try await TokenService(secret: String(repeating: "z", count: 32))
            let foreign = try await other.issue(for: Principal(userID: "x", role: .admin))
            #expect(try await client.execute(uri: "/api/users", method: .get, headers: bearer(foreign)).status == .unauthorized)
            let expired = try await harness.tokens.issue(
                for: Principal(userID: "x", role: .admin), now: Date().addingTimeInterval(-7200))
            #expect(try await client.execute(uri: "/api/users", method: .get, headers: bearer(expired)).status == .unauthorized)
        }
        await harness.close()
    }

    @Test func adminsListAndDisableCustomersCannot() async throws {
        let harness = try await UsersHarness()
        let admin = try await RegisterUser(
            users: SQLUserStore(store: harness.base.store), bcryptCost: 4, logger: Logger(label: "test")
        )(email: "root@example.com", password: "a long admin password", name: "Root", role: .admin)
        try await harness.application.test(.router) { client in
            for n in 0..<3 { _ = try await register(client, "user\(n)@example.com") }
            let customerToken = try #require(try await login(client, "user0@example.com").object["token"] as? String)
            let forbidden = try await client.execute(uri: "/api/users", method: .get, headers: bearer(customerToken))
            #expect(forbidden.status == .forbidden)

            let adminToken = try #require(
                try await login(client, "root@example.com", "a long admin password").object["token"] as? String)
            let page = try await client.execute(uri: "/api/users?page=2&per_page=2", method: .get, headers: bearer(adminToken))
            #expect(page.status == .ok)
            #expect(page.object["total"] as? Int == 4)
            #expect((page.object["items"] as? [Any])?.count == 2)
            #expect(
                try await client.execute(uri: "/api/users?per_page=1000", method: .get, headers: bearer(adminToken)).status
                    == .badRequest)

            let victim = try #require(try await register(client, "victim@example.com").object["id"] as? String)
            let disabled = try await client.execute(
                uri: "/api/users/\(victim)/disable", method: .post, headers: bearer(adminToken))
            #expect(disabled.object["disabled"] as? Bool == true)
            #expect(try await login(client, "victim@example.com").status == .forbidden)
            #expect(
                try await client.execute(uri: "/api/users/\(victim)/disable", method: .post, headers: bearer(customerToken))
                    .status
                    == .forbidden)
            #expect(
                try await client.execute(uri: "/api/users/nope/disable", method: .post, headers: bearer(adminToken)).status
                    == .notFound)
        }
        #expect(admin.role == .admin)
        await harness.close()
    }
}
