import Foundation
import HTTPTypes
import Hummingbird
import JWTKit
import MeridianHTTP

/// What a verified token says about its bearer.
public struct Principal: Sendable, Hashable {
    public enum Role: String, Sendable, Hashable, Codable {
        case customer, admin
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

/// Authenticates requests that carry `Authorization: Bearer <token>`: a valid token's principal is put
/// in the context; an invalid or expired one is a 401. Routes decide whether a principal is required.
public struct AuthenticationMiddleware: RouterMiddleware {
    public typealias Context = MeridianRequestContext
    let tokens: TokenService

    public init(tokens: TokenService) {
        self.tokens = tokens
    }

    public func handle(
        _ request: Request,
        context: MeridianRequestContext,
        next: (Request, MeridianRequestContext) async throws -> Response
    ) async throws -> Response {
        guard let authorization = request.headers[.authorization], authorization.hasPrefix("Bearer ") else {
            return try await next(request, context)
        }
        var context = context
        do {
            let principal = try await tokens.verify(String(authorization.dropFirst("Bearer ".count)))
            context.principal = principal.userID
            context.principalRole = principal.role.rawValue
        } catch {
            throw ProblemDetails(
                .unauthorized, slug: "unauthorized", detail: "the bearer token is not valid or has expired",
                field: "Authorization")
        }
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

    /// The resource named by the `:id` path parameter, for its owner or an admin: 401 without a token,
    /// 404 when `find` has none, 403 when it belongs to another user.
    public func ownResource<Resource>(
        _ kind: String, find: (String) async throws -> Resource?, owner: (Resource) -> String
    ) async throws -> Resource {
        let principal = try requirePrincipal()
        let id = parameters.get("id") ?? ""
        guard let resource = try await find(id) else {
            throw ProblemDetails(.notFound, slug: "not-found", detail: "no \(kind) \(id)")
        }
        guard owner(resource) == principal.userID || principal.role == .admin else {
            throw ProblemDetails(.forbidden, slug: "forbidden", detail: "\(kind) \(id) is not yours")
        }
        return resource
    }
}
