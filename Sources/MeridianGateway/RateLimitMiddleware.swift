import Foundation
import HTTPTypes
import Hummingbird
import MeridianCore
import MeridianHTTP
import Synchronization

/// The public API's rate limits for `/api/…`: token buckets per signed-in user and per client address
/// (429 with `Retry-After`), applied where clients arrive. Runs after authentication; a request that came
/// through this deployment's gateway (``MeridianRequestContext/viaGateway``) was limited there already.
public struct RateLimitMiddleware: RouterMiddleware {
    public typealias Context = MeridianRequestContext

    /// Settings of the gateway.
    public struct Configuration: Sendable {
        /// Requests per second per signed-in user; 0 turns it off. Default 20.
        public var userRate: Double = 20
        /// Burst per signed-in user. Default 40.
        public var userBurst: Double = 40
        /// Requests per second per client address; 0 turns it off. Default 50.
        public var addressRate: Double = 50
        /// Burst per client address. Default 100.
        public var addressBurst: Double = 100

        public init() {}
    }

    /// Token buckets for one kind of client, bounded in number (the admission state machine's).
    private final class Limiter: Sendable {
        private let admission: Mutex<Admission>

        init(rate: Double, burst: Double, now: Double) {
            var limits = Admission.Configuration()
            limits.clientRate = rate
            limits.clientBurst = burst
            limits.maxInflightEvents = .max
            limits.maxInflightBytes = .max
            admission = Mutex(Admission(configuration: limits, now: now))
        }

        func take(client: String, now: Double) throws {
            let decision = admission.withLock { admission -> Admission.Decision in
                let decision = admission.admit(client: client, events: 1, bytes: 0, now: now)
                if decision == .admitted { admission.release(events: 1, bytes: 0) }
                return decision
            }
            if case .rateLimited(let wait) = decision {
                throw ProblemDetails(
                    .tooManyRequests, slug: "rate-limited", detail: "too many requests; slow down",
                    retryAfter: ProblemDetails.retrySeconds(wait))
            }
        }
    }

    private let users: Limiter
    private let addresses: Limiter
    private let clock: @Sendable () -> Double

    public init(configuration: Configuration, clock: @escaping @Sendable () -> Double = monotonicSeconds) {
        users = Limiter(rate: configuration.userRate, burst: configuration.userBurst, now: clock())
        addresses = Limiter(rate: configuration.addressRate, burst: configuration.addressBurst, now: clock())
        self.clock = clock
    }

    public func handle(
        _ request: Request,
        context: MeridianRequestContext,
        next: (Request, MeridianRequestContext) async throws -> Response
    ) async throws -> Response {
        guard request.uri.path.hasPrefix("/api/") || request.uri.path == "/api", !context.viaGateway else {
            return try await next(request, context)
        }
        let now = clock()
        try addresses.take(client: context.clientAddress, now: now)
        if let user = context.principal { try users.take(client: user, now: now) }
        return try await next(request, context)
    }
}
