import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdBcrypt
import Logging
import MeridianAuth
import MeridianContracts
import MeridianCore
import MeridianHTTP
import NIOPosix

/// The users role's API, under `/api`: registration, login, the signed-in user's profile, and the
/// admin list and disable.
public struct UsersController: APIRoutes {
    /// Settings of the users role.
    public struct Configuration: Sendable {
        /// bcrypt cost (work factor). Default 12.
        public var bcryptCost: UInt8 = 12
        public init() {}
    }

    let users: any UserStore
    let tokens: TokenService
    let configuration: Configuration
    let logger: Logger
    /// Called with a user's id after their account changed (disabled), so cached answers about it go.
    let onAccountChange: @Sendable (UserID) -> Void
    /// A hash at the configured cost, verified against for unknown emails.
    private let dummyHash: String

    public init(
        users: any UserStore, tokens: TokenService, configuration: Configuration, logger: Logger,
        onAccountChange: @escaping @Sendable (UserID) -> Void = { _ in }
    ) {
        self.users = users
        self.tokens = tokens
        self.configuration = configuration
        self.logger = logger
        self.onAccountChange = onAccountChange
        self.dummyHash = Bcrypt.hash(RandomID.uuidString(), cost: configuration.bcryptCost)
    }

    public func addRoutes(to router: some RouterMethods<MeridianRequestContext>) {
        let api = router.group("api")
        api.post("users") { request, context in try await self.register(request, context: context) }
        api.post("auth/login") { request, context in try await self.login(request, context: context) }
        api.get("users/me") { _, context in try await self.me(context) }
        api.patch("users/me") { request, context in try await self.updateMe(request, context: context) }
        api.get("users") { request, context in try await self.list(request, context: context) }
        api.post("users/:id/disable") { _, context in try await self.disable(context) }
    }

    struct Registration: Decodable {
        var email: String
        var password: String
        var name: String?
    }

    struct Credentials: Decodable {
        var email: String
        var password: String
    }

    struct ProfileChange: Decodable {
        var name: String?
        var password: String?
    }

    struct UserView: Encodable, Sendable {
        var id: String
        var email: String
        var name: String
        var role: String
        var disabled: Bool
        var createdAt: String

        enum CodingKeys: String, CodingKey {
            case id, email, name, role, disabled
            case createdAt = "created_at"
        }

        init(_ user: User) {
            id = user.id.rawValue
            email = user.email
            name = user.name
            role = user.role.rawValue
            disabled = user.disabled
            createdAt = Timestamp.format(user.createdAt)
        }
    }

    func register(_ request: Request, context: MeridianRequestContext) async throws -> Response {
        let registration = try await decodeJSONBody(Registration.self, from: request, context: context)
        let register = RegisterUser(users: users, bcryptCost: configuration.bcryptCost, logger: logger)
        let user = try await register(
            email: registration.email, password: registration.password, name: registration.name, role: .customer)
        return jsonResponse(UserView(user), status: .created, headers: [.location: "/api/users/\(user.id.rawValue)"])
    }

    struct Token: Encodable {
        var token: String
        var tokenType = "Bearer"
        var expiresIn: Int64

        enum CodingKeys: String, CodingKey {
            case token
            case tokenType = "token_type"
            case expiresIn = "expires_in"
        }
    }

    func login(_ request: Request, context: MeridianRequestContext) async throws -> Response {
        let credentials = try await decodeJSONBody(Credentials.self, from: request, context: context)
        // What no account can have is refused before it reaches the database or bcrypt.
        let email = try UserRules.email(credentials.email)
        guard credentials.password.utf8.count <= 1024 else {
            throw ProblemDetails(.unauthorized, slug: "bad-credentials", detail: "the email or the password is wrong")
        }
        let user = try await users.find(email: email)
        // Verify against a dummy hash for unknown emails too, so timing does not reveal which exist.
        let matches = try await verify(password: credentials.password, hash: user?.passwordHash ?? dummyHash)
        guard let user, matches else {
            throw ProblemDetails(.unauthorized, slug: "bad-credentials", detail: "the email or the password is wrong")
        }
        guard !user.disabled else {
            throw ProblemDetails(.forbidden, slug: "disabled", detail: "this account is disabled")
        }
        let token = try await tokens.issue(for: Principal(userID: user.id.rawValue, role: user.role))
        return jsonResponse(Token(token: token, expiresIn: tokens.lifetime.components.seconds))
    }

    func me(_ context: MeridianRequestContext) async throws -> Response {
        jsonResponse(UserView(try await signedInUser(context)))
    }

    func updateMe(_ request: Request, context: MeridianRequestContext) async throws -> Response {
        var user = try await signedInUser(context)
        let change = try await decodeJSONBody(ProfileChange.self, from: request, context: context)
        if let name = change.name { user.name = try UserRules.name(name) }
        if let password = change.password { user.passwordHash = try await hash(password: password) }
        try await users.updateProfile(user)
        return jsonResponse(UserView(user))
    }

    func list(_ request: Request, context: MeridianRequestContext) async throws -> Response {
        _ = try context.requireAdmin()
        let page = try PageRequest(request)
        let (users, total) = try await users.list(offset: page.offset, limit: page.perPage)
        return jsonResponse(PageView(items: users.map(UserView.init), request: page, total: total))
    }

    func disable(_ context: MeridianRequestContext) async throws -> Response {
        _ = try context.requireAdmin()
        let id = UserID(rawValue: context.parameter("id"))
        guard let user = try await users.disable(id: id) else {
            throw ProblemDetails(.notFound, slug: "not-found", detail: "no user \(id.rawValue)")
        }
        onAccountChange(user.id)
        logger.info("user disabled", metadata: ["user_id": "\(user.id.rawValue)"])
        return jsonResponse(UserView(user))
    }

    private func signedInUser(_ context: MeridianRequestContext) async throws -> User {
        let principal = try context.requirePrincipal()
        guard let user = try await users.find(id: UserID(rawValue: principal.userID)), !user.disabled else {
            throw ProblemDetails(.unauthorized, slug: "unauthorized", detail: "the account no longer exists or is disabled")
        }
        return user
    }

    // bcrypt is slow on purpose: it runs on the blocking thread pool, never on an event loop.
    private func hash(password: String) async throws -> String {
        try UserRules.password(password)
        let cost = configuration.bcryptCost
        return try await NIOThreadPool.singleton.runIfActive { Bcrypt.hash(password, cost: cost) }
    }

    private func verify(password: String, hash: String) async throws -> Bool {
        try await NIOThreadPool.singleton.runIfActive { Bcrypt.verify(password, hash: hash) }
    }
}
