import Foundation
import HTTPTypes
import Hummingbird
import JWTKit
import MeridianContracts
import MeridianHTTP

/// What a verified token says about its bearer.
public struct Principal: Sendable, Hashable {
    public enum Role: String, Sendable, Hashable, Codable {
        case customer, admin
        /// Another Meridian service calling an `/internal` route (split mode); never a person.
        case service
    }

    /// A service token's principal: `service:<name>`.
    public static func service(_ name: String) -> Principal {
        Principal(userID: "service:\(name)", role: .service)
    }

    public var userID: String
    public var role: Role

    public init(userID: String, role: Role) {
        self.userID = userID
        self.role = role
    }
}

/// The claims of a Meridian access token: `sub`, `role`, `iat`, `exp`.
struct AccessClaims: JWTPayload {
    var sub: SubjectClaim
    var role: String
    var iat: IssuedAtClaim
    var exp: ExpirationClaim

    func verify(using algorithm: some JWTAlgorithm) async throws {
        try exp.verifyNotExpired()
    }
}

/// Issues and verifies HS256 access tokens.
public struct TokenService: Sendable {
    private let keys: JWTKeyCollection
    /// How long a token is valid. Default one hour.
    public let lifetime: Duration

    /// Creates the service with the shared secret (at least 32 bytes).
    public init(secret: String, lifetime: Duration = .seconds(3600)) async throws {
        guard secret.utf8.count >= 32 else { throw TokenError("the JWT secret must be at least 32 bytes") }
        let keys = JWTKeyCollection()
        await keys.add(hmac: HMACKey(from: secret), digestAlgorithm: .sha256)
        self.keys = keys
        self.lifetime = lifetime
    }

    /// A signed token for `principal`, valid for ``lifetime``.
    public func issue(for principal: Principal, now: Date = Date()) async throws -> String {
        try await keys.sign(
            AccessClaims(
                sub: .init(value: principal.userID), role: principal.role.rawValue, iat: .init(value: now),
                exp: .init(value: now.addingTimeInterval(Double(lifetime.components.seconds)))))
    }

    /// The principal of a valid token; throws when the token is malformed, badly signed or expired.
    public func verify(_ token: String) async throws -> Principal {
        let claims = try await keys.verify(token, as: AccessClaims.self)
        guard let role = Principal.Role(rawValue: claims.role) else { throw TokenError("unknown role") }
        return Principal(userID: claims.sub.value, role: role)
    }
}

public struct TokenError: Error, CustomStringConvertible {
    public var description: String
    public init(_ description: String) { self.description = description }
}

/// Authenticates `/api` and `/internal` requests that carry `Authorization: Bearer <token>`: a valid token's principal is put
/// in the context; an invalid or expired one is a 401, and so is a token of a user who was disabled since
/// it was issued (asked of ``AccountStatus`` for every request, through its short cache). Routes decide
/// whether a principal is required.
public struct AuthenticationMiddleware: RouterMiddleware {
    public typealias Context = MeridianRequestContext
    let tokens: TokenService
    let accounts: (any AccountStatus)?

    /// - Parameter accounts: who answers whether an account is still enabled; nil only where no person's
    ///   token can act (tests of a single role).
    public init(tokens: TokenService, accounts: (any AccountStatus)?) {
        self.tokens = tokens
        self.accounts = accounts
    }

    public func handle(
        _ request: Request,
        context: MeridianRequestContext,
        next: (Request, MeridianRequestContext) async throws -> Response
    ) async throws -> Response {
        // `/events` reads its own API keys (also as `Bearer`); operational endpoints take no token.
        let path = request.uri.path
        guard path.hasPrefix("/api/") || path == "/api" || path.hasPrefix("/internal/"),
            let authorization = request.headers[.authorization], authorization.hasPrefix("Bearer ")
        else {
            return try await next(request, context)
        }
        var context = context
        let principal: Principal
        do {
            principal = try await tokens.verify(String(authorization.dropFirst("Bearer ".count)))
        } catch {
            throw ProblemDetails(
                .unauthorized, slug: "unauthorized", detail: "the bearer token is not valid or has expired",
                field: "Authorization")
        }
        if principal.role != .service, let accounts {
            let active: Bool
            do {
                active = try await accounts.isActive(UserID(principal.userID))
            } catch {
                throw ProblemDetails(
                    .serviceUnavailable, slug: "service-unavailable",
                    detail: "the users service cannot confirm the account; retry", retryAfter: 1)
            }
            guard active else {
                throw ProblemDetails(
                    .unauthorized, slug: "account-disabled", detail: "the account of this token is disabled or gone",
                    field: "Authorization")
            }
        }
        context.principal = principal.userID
        context.principalRole = principal.role.rawValue
        return try await next(request, context)
    }
}

extension MeridianRequestContext {
    /// The authenticated principal, or a 401 problem.
    public func requirePrincipal() throws -> Principal {
        guard let principal, let role = principalRole.flatMap(Principal.Role.init(rawValue:)) else {
            throw ProblemDetails(
                .unauthorized, slug: "unauthorized", detail: "sign in: send Authorization: Bearer <token>",
                field: "Authorization")
        }
        return Principal(userID: principal, role: role)
    }

    /// The authenticated admin, or a 401/403 problem.
    public func requireAdmin() throws -> Principal {
        let principal = try requirePrincipal()
        guard principal.role == .admin else {
            throw ProblemDetails(.forbidden, slug: "forbidden", detail: "this needs the admin role")
        }
        return principal
    }

    /// Another Meridian service (a service token), or a 401/403 problem: `/internal` routes take no person's
    /// token, an admin's included.
    public func requireService() throws -> Principal {
        let principal = try requirePrincipal()
        guard principal.role == .service else {
            throw ProblemDetails(.forbidden, slug: "forbidden", detail: "internal routes take service tokens only")
        }
        return principal
    }

    /// The resource named by the `:id` path parameter, for its owner or an admin: 401 without a token,
    /// 404 when `find` has none, 403 when it belongs to another user.
    public func ownResource<Resource>(
        _ kind: String, find: (String) async throws -> Resource?, owner: (Resource) -> String
    ) async throws -> Resource {
        let principal = try requirePrincipal()
        let id = parameter("id")
        guard let resource = try await find(id) else {
            throw ProblemDetails(.notFound, slug: "not-found", detail: "no \(kind) \(id)")
        }
        guard owner(resource) == principal.userID || principal.role == .admin else {
            throw ProblemDetails(.forbidden, slug: "forbidden", detail: "\(kind) \(id) is not yours")
        }
        return resource
    }
}
