import Foundation
import HTTPTypes
import Hummingbird
import MeridianCore

/// How large a request may be. Requests over the HTTP parser's header limits never reach a route: the
/// ``ParserErrorHandler`` answers them with 431.
public struct RequestLimits: Sendable {
    /// Largest JSON body of an `/api` route. Default 64 KiB.
    public var jsonBodyBytes = 65_536
    /// Longest request target (path and query). Default 8 KiB.
    public var uriBytes = 8192

    public init() {}
}

/// Applies ``RequestLimits`` and refuses what no route may receive: a request target over
/// ``RequestLimits/uriBytes`` (414), and a path or query parameter holding control characters or bytes
/// that are not UTF-8 once percent-decoded (400 naming the parameter). Every route then reads ids and
/// filters that are safe to bind in SQL (PostgreSQL refuses NUL in text).
public struct RequestLimitsMiddleware: RouterMiddleware {
    public typealias Context = MeridianRequestContext
    let limits: RequestLimits

    public init(limits: RequestLimits) {
        self.limits = limits
    }

    public func handle(
        _ request: Request,
        context: MeridianRequestContext,
        next: (Request, MeridianRequestContext) async throws -> Response
    ) async throws -> Response {
        let target = request.uri.description
        guard target.utf8.count <= limits.uriBytes else {
            throw ProblemDetails(
                .uriTooLong, slug: "uri-too-long", detail: "the request target exceeds \(limits.uriBytes) bytes")
        }
        guard let path = request.uri.path.removingPercentEncoding, !Self.hasControl(path) else {
            throw ProblemDetails(
                .badRequest, slug: "invalid-path", detail: "the path holds control characters or is not UTF-8", field: "path")
        }
        if let query = request.uri.query {
            for pair in query.split(separator: "&") {
                let parts = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
                let name = String(parts[0]).replacingOccurrences(of: "+", with: " ").removingPercentEncoding
                let value =
                    parts.count > 1 ? String(parts[1]).replacingOccurrences(of: "+", with: " ").removingPercentEncoding : ""
                guard let name, let value, !Self.hasControl(name), !Self.hasControl(value) else {
                    throw ProblemDetails(
                        .badRequest, slug: "invalid-query",
                        detail: "query parameter \(parts[0]) holds control characters or is not UTF-8",
                        field: String(parts[0]).removingPercentEncoding ?? String(parts[0]))
                }
            }
        }
        var context = context
        context.limits = limits
        return try await next(request, context)
    }

    static func hasControl(_ text: String) -> Bool {
        text.unicodeScalars.contains { TextRules.isForbidden($0, lines: .single) }
    }
}
