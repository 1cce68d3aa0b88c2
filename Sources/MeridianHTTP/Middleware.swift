import Foundation
import HTTPTypes
import Hummingbird
import Logging
import MeridianCore
import Metrics
import Synchronization

extension HTTPField.Name {
    public static let requestID = Self("X-Request-ID")!
    public static let apiKey = Self("X-API-Key")!
}

/// Gives every request an id (the client's `X-Request-ID`, else a new one), puts it in the logger's
/// metadata and echoes it in the response.
public struct RequestIDMiddleware: RouterMiddleware {
    public typealias Context = MeridianRequestContext

    public init() {}

    public func handle(
        _ request: Request,
        context: MeridianRequestContext,
        next: (Request, MeridianRequestContext) async throws -> Response
    ) async throws -> Response {
        var context = context
        let supplied = request.headers[.requestID].flatMap { $0.count <= 128 && !$0.isEmpty ? $0 : nil }
        context.requestID = supplied ?? RandomID.uuidString()
        context.logger[metadataKey: "request_id"] = .string(context.requestID)
        var response = try await next(request, context)
        response.headers[.requestID] = context.requestID
        return response
    }
}

/// Security headers on every answer of the public API (`/api/…`), errors included.
public struct SecurityHeadersMiddleware: RouterMiddleware {
    public typealias Context = MeridianRequestContext

    public init() {}

    public func handle(
        _ request: Request,
        context: MeridianRequestContext,
        next: (Request, MeridianRequestContext) async throws -> Response
    ) async throws -> Response {
        var response = try await next(request, context)
        guard request.uri.path.hasPrefix("/api/") || request.uri.path == "/api" else { return response }
        response.headers[.xContentTypeOptions] = "nosniff"
        response.headers[.xFrameOptions] = "DENY"
        response.headers[.referrerPolicy] = "no-referrer"
        response.headers[.contentSecurityPolicy] = "default-src 'none'; frame-ancestors 'none'"
        if response.headers[.cacheControl] == nil { response.headers[.cacheControl] = "no-store" }
        return response
    }
}

extension HTTPField.Name {
    static let xContentTypeOptions = Self("X-Content-Type-Options")!
    static let xFrameOptions = Self("X-Frame-Options")!
    static let referrerPolicy = Self("Referrer-Policy")!
}

/// Turns every error into an RFC 9457 problem response, so no client sees a bare 500 or HTML.
///
/// A ``FieldViolation`` is a 422 naming its field; Hummingbird's client errors (`HTTPResponseError` with a 4xx
/// status, `NIOTooManyBytesError` among them) keep their status; anything else is a 500 whose details stay in the log.
public struct ProblemMiddleware: RouterMiddleware {
    public typealias Context = MeridianRequestContext

    public init() {}

    public func handle(
        _ request: Request,
        context: MeridianRequestContext,
        next: (Request, MeridianRequestContext) async throws -> Response
    ) async throws -> Response {
        do {
            return try await next(request, context)
        } catch let problem as ProblemDetails {
            return problem.response(requestID: context.requestID)
        } catch let violation as FieldViolation {
            return ProblemDetails(violation).response(requestID: context.requestID)
        } catch let convertible as any ProblemConvertible {
            context.logger.warning("request failed", metadata: ["error": "\(convertible)"])
            return convertible.problem.response(requestID: context.requestID)
        } catch let error as any HTTPResponseError {
            let slug: String
            let detail: String
            switch error.status {
            case .notFound:
                slug = "not-found"
                detail = "no route for \(request.method) \(request.uri.path)"
            case .contentTooLarge:
                slug = "too-large"
                detail = "the request body is larger than allowed"
            case .methodNotAllowed:
                slug = "method-not-allowed"
                detail = "\(request.method) is not allowed on \(request.uri.path)"
            default:
                slug = "http-error"
                detail = (error as? HTTPError)?.body ?? error.status.reasonPhrase
            }
            return ProblemDetails(error.status, slug: slug, detail: detail).response(
                requestID: context.requestID, extraHeaders: (error as? HTTPError)?.headers ?? [:])
        } catch {
            context.logger.error("request failed", metadata: ["error": "\(error)"])
            return ProblemDetails(.internalServerError, slug: "internal", detail: "an internal error occurred")
                .response(requestID: context.requestID)
        }
    }
}

/// Records `meridian_http_requests_total{route, method, status}` and
/// `meridian_http_request_duration_seconds{route, method}`.
///
/// The metric handles are made once per label set and kept, so a request costs two lookups.
public struct HTTPMetricsMiddleware: RouterMiddleware {
    public typealias Context = MeridianRequestContext

    private struct Labels: Hashable {
        var route: String
        var method: String
        var status: Int
    }

    private final class Handles: Sendable {
        let factory: any MetricsFactory
        let counters = Mutex<[Labels: Counter]>([:])
        let timers = Mutex<[Labels: Metrics.Timer]>([:])

        init(factory: any MetricsFactory) { self.factory = factory }

        func counter(_ labels: Labels) -> Counter {
            counters.withLock { counters in
                if let counter = counters[labels] { return counter }
                let counter = Counter(
                    label: "meridian_http_requests_total",
                    dimensions: [("route", labels.route), ("method", labels.method), ("status", String(labels.status))],
                    factory: factory)
                counters[labels] = counter
                return counter
            }
        }

        func timer(_ labels: Labels) -> Metrics.Timer {
            timers.withLock { timers in
                if let timer = timers[labels] { return timer }
                let timer = Metrics.Timer(
                    label: "meridian_http_request_duration_seconds",
                    dimensions: [("route", labels.route), ("method", labels.method)],
                    preferredDisplayUnit: .seconds,
                    factory: factory)
                timers[labels] = timer
                return timer
            }
        }
    }

    private let handles: Handles

    public init(factory: any MetricsFactory = MetricsSystem.factory) {
        self.handles = Handles(factory: factory)
    }

    public func handle(
        _ request: Request,
        context: MeridianRequestContext,
        next: (Request, MeridianRequestContext) async throws -> Response
    ) async throws -> Response {
        let start = ContinuousClock.now
        let response = try await next(request, context)
        let route = context.endpointPath ?? "unmatched"
        let method = request.method.rawValue
        handles.counter(Labels(route: route, method: method, status: response.status.code)).increment()
        handles.timer(Labels(route: route, method: method, status: 0)).recordNanoseconds(start.duration(to: .now).nanoseconds)
        return response
    }
}
