import Foundation
import Hummingbird
import Logging
import NIOCore

/// The request context of every Meridian role: Hummingbird's core storage plus the peer address
/// and the request id.
public struct MeridianRequestContext: RequestContext, RemoteAddressRequestContext {
    public var coreContext: CoreRequestContextStorage
    public let remoteAddress: SocketAddress?
    /// The request id: the client's `X-Request-ID` when it sent one, else generated.
    public var requestID: String = ""
    /// The authenticated user's id, set by the authentication middleware.
    public var principal: String?
    /// The authenticated user's role.
    public var principalRole: String?
    /// Largest body any route collects; routes apply their own, smaller limits.
    public var maxUploadSize: Int { 64 * 1_048_576 }
    /// The limits of this server, set by ``RequestLimitsMiddleware``.
    public var limits = RequestLimits()

    /// The client's address: the peer's, or the one a trusted proxy reports (``ClientAddressMiddleware``).
    public var clientAddress: String
    /// True when the request came through this deployment's gateway (it proved so with a service token): the
    /// gateway already applied the per-client limits.
    public var viaGateway = false

    public init(source: Source) {
        self.coreContext = .init(source: source)
        self.remoteAddress = source.channel.remoteAddress
        self.clientAddress = source.channel.remoteAddress?.ipAddress ?? "unknown"
    }

    /// The path parameter `name`, percent-decoded (`o%2F1` is `o/1`); empty when absent. Control characters
    /// never get here (``RequestLimitsMiddleware`` refuses them).
    public func parameter(_ name: String) -> String {
        guard let raw = parameters.get(name) else { return "" }
        return raw.removingPercentEncoding ?? raw
    }

    /// The peer's IP address, or `unknown`.
    public var peerAddress: String {
        remoteAddress?.ipAddress ?? "unknown"
    }
}

/// A role's API: the routes it adds to the router every role shares.
public protocol APIRoutes: Sendable {
    func addRoutes(to router: some RouterMethods<MeridianRequestContext>)
}
