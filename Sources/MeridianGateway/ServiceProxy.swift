import AsyncHTTPClient
import Foundation
import HTTPTypes
import Hummingbird
import Logging
import MeridianCore
import MeridianHTTP
import NIOCore
import NIOHTTP1
import Tracing

/// A path prefix of the public API and the service that answers it.
public struct GatewayRoute: Sendable, Hashable {
    public var prefix: String
    public var service: String
    public var baseURL: String

    public init(prefix: String, service: String, baseURL: String) {
        self.prefix = prefix
        self.service = service
        self.baseURL = baseURL
    }
}

/// The gateway in split mode: answers `/api/...` (and `/events`) requests for roles this process does not
/// run by forwarding them to the service that does, after the gateway's own checks (token, rate limits).
/// The service checks the token again; `X-Meridian-Gateway` proves the request came through the gateway (so
/// the service does not limit the gateway's own address) and `X-Forwarded-For` carries the client's address.
/// A service that does not answer in time gets the client a 503 with `Retry-After` at once; a `GET` is
/// tried a second time first. Written by hand: a reverse proxy of a few prefixes is all it needs.
public struct ServiceProxyMiddleware: RouterMiddleware {
    public typealias Context = MeridianRequestContext

    public let routes: [GatewayRoute]
    let maxBody: Int
    let http: HTTPClient
    let requestTimeout: Duration
    let retryBackoff: Duration
    /// A fresh `X-Meridian-Gateway` proof.
    let proof: @Sendable () async throws -> String

    public init(
        routes: [GatewayRoute], maxBody: Int, http: HTTPClient, requestTimeout: Duration, retryBackoff: Duration,
        proof: @escaping @Sendable () async throws -> String
    ) {
        self.routes = routes
        self.maxBody = maxBody
        self.http = http
        self.requestTimeout = requestTimeout
        self.retryBackoff = retryBackoff
        self.proof = proof
    }

    static let hopByHop: Set<String> = [
        "connection", "keep-alive", "proxy-authenticate", "proxy-authorization", "te", "trailer", "transfer-encoding",
        "upgrade", "host", "content-length", "x-meridian-gateway", "x-forwarded-for", "forwarded",
    ]

    public func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws
        -> Response
    {
        let path = request.uri.path
        guard let route = routes.first(where: { path == $0.prefix || path.hasPrefix($0.prefix + "/") }) else {
            return try await next(request, context)
        }
        // With tracing on, the forwarded request carries the gateway's span (async-http-client adds it), not the client's.
        let tracing = TraceContext.traceparent() != nil
        return try await withSpan("proxy \(route.service)", ofKind: .internal) { span in
            span.attributes["meridian.upstream"] = route.service
            return try await forward(request, context: context, to: route, dropping: tracing ? Self.traceFields : [])
        }
    }

    /// The W3C trace context fields, replaced by the gateway's own when it traces.
    static let traceFields: Set<String> = ["traceparent", "tracestate"]

    private func forward(_ request: Request, context: Context, to route: GatewayRoute, dropping: Set<String>)
        async throws -> Response
    {
        var forwarded = HTTPClientRequest(url: route.baseURL + request.uri.description)
        forwarded.method = HTTPMethod(rawValue: request.method.rawValue)
        for field in request.headers
        where !Self.hopByHop.contains(field.name.canonicalName) && !dropping.contains(field.name.canonicalName) {
            forwarded.headers.add(name: field.name.rawName, value: field.value)
        }
        forwarded.headers.replaceOrAdd(name: "X-Request-ID", value: context.requestID)
        forwarded.headers.replaceOrAdd(name: "X-Forwarded-For", value: context.clientAddress)
        forwarded.headers.replaceOrAdd(name: "X-Meridian-Gateway", value: try await proof())
        let body = try await collectBody(request, limit: maxBody)
        if body.readableBytes > 0 { forwarded.body = .bytes(body) }
        let unavailable = ProblemDetails(
            .serviceUnavailable, slug: "service-unavailable", detail: "the \(route.service) service did not answer; retry",
            retryAfter: 1)
        // A client that prefers to wait for an outcome (`Prefer: wait`, RFC 7240) gets that much longer.
        let timeout = requestTimeout + .seconds(min(Preferences(request.headers).wait ?? 0, 300))
        var attempt = 1
        while true {
            do {
                let response = try await http.execute(forwarded, timeout: .nanoseconds(timeout.nanoseconds))
                let answer = try await response.body.collect(upTo: 16 * 1_048_576)
                var headers = HTTPFields()
                for header in response.headers where !Self.hopByHop.contains(header.name.lowercased()) {
                    if let name = HTTPField.Name(header.name) { headers.append(HTTPField(name: name, value: header.value)) }
                }
                return Response(
                    status: .init(code: Int(response.status.code)), headers: headers, body: .init(byteBuffer: answer))
            } catch let error as CancellationError {
                throw error
            } catch {
                guard request.method == .get, attempt == 1 else {
                    context.logger.warning(
                        "service did not answer", metadata: ["service": "\(route.service)", "error": "\(error)"])
                    throw unavailable
                }
                attempt += 1
                try await Task.sleep(for: retryBackoff)
            }
        }
    }
}
