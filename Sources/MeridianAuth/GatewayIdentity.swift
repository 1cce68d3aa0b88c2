import Foundation
import HTTPTypes
import Hummingbird
import MeridianHTTP

extension HTTPField.Name {
    /// The gateway's proof that it forwarded a request: a service token of `service:gateway`.
    public static let meridianGateway = Self("X-Meridian-Gateway")!
}

/// Recognises requests the deployment's gateway forwarded: a valid service token of `service:gateway` in
/// `X-Meridian-Gateway`. Such a request takes its client address from the `X-Forwarded-For` the gateway set,
/// and is not rate-limited again here (``MeridianRequestContext/viaGateway``). Any other request, or a forged
/// header, is treated as a client's own.
public struct GatewayIdentityMiddleware: RouterMiddleware {
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
        guard let proof = request.headers[.meridianGateway],
            let principal = try? await tokens.verify(proof),
            principal == Principal.service("gateway")
        else {
            return try await next(request, context)
        }
        var context = context
        context.viaGateway = true
        if let forwarded = request.headers[values: .xForwardedFor].last?.split(separator: ",").last {
            context.clientAddress = forwarded.trimmingCharacters(in: .whitespaces)
        }
        return try await next(request, context)
    }
}
