import AsyncHTTPClient
import Foundation
import HTTPTypes
import Hummingbird
import Logging
import MeridianAuth
import MeridianCore
import MeridianHTTP
import NIOCore
import NIOHTTP1

// Split mode: a role that another role of the same process would answer in process is reached over HTTP
// instead, at the address `services.<role>Url` names. The owning role serves these `/internal/...` routes;
// callers sign each request with a service token (the shared `auth.jwtSecret`, role `service`, which no
// person's token has: an admin's token is refused there too).

/// A call between services failed: the other service is down, too slow, or answered what it must not.
/// The client whose request needed it gets 503 with `Retry-After`, never a 500.
public struct ServiceCallFailed: Error, CustomStringConvertible, ProblemConvertible {
    public var service: String
    public var reason: String
    public var description: String { "\(service) service: \(reason)" }

    public var problem: ProblemDetails {
        ProblemDetails(
            .serviceUnavailable, slug: "service-unavailable", detail: "the \(service) service is unavailable; retry",
            retryAfter: 1)
    }
}

/// JSON calls to one other service, with the timeouts of ``Configuration``; an idempotent call is retried
/// once after a short pause when the service could not be reached or failed.
public struct ServiceClient: Sendable {
    /// Timeouts and the retry of calls between services.
    public struct Configuration: Sendable {
        /// Longest time to open a connection. Default 1 s (a refused connection fails at once).
        public var connectTimeout: Duration = .seconds(1)
        /// Longest time for one call, answer included. Default 5 s.
        public var requestTimeout: Duration = .seconds(5)
        /// Pause before the one retry of an idempotent call. Default 100 ms.
        public var retryBackoff: Duration = .milliseconds(100)

        public init() {}
    }

    let name: String
    let baseURL: String
    let tokens: TokenService
    let http: HTTPClient
    let configuration: Configuration

    public init(name: String, baseURL: String, tokens: TokenService, http: HTTPClient, configuration: Configuration) {
        self.name = name
        self.baseURL = baseURL
        self.tokens = tokens
        self.http = http
        self.configuration = configuration
    }

    /// An HTTP client for calls between services: connection attempts are not retried by the pool (a service
    /// that is down is reported at once; ``call(_:_:body:idempotent:)`` decides about retrying).
    public static func makeHTTPClient(_ configuration: Configuration) -> HTTPClient {
        var settings = HTTPClient.Configuration()
        settings.timeout.connect = .nanoseconds(configuration.connectTimeout.nanoseconds)
        settings.connectionPool.retryConnectionEstablishment = false
        return HTTPClient(eventLoopGroupProvider: .singleton, configuration: settings)
    }

    /// One call; returns the status and body of any answer the service gave.
    func call(
        _ method: HTTPMethod, _ path: String, body: (some Encodable)? = Optional<Int>.none, idempotent: Bool
    ) async throws -> (status: Int, body: ByteBuffer) {
        var request = HTTPClientRequest(url: baseURL + path)
        request.method = method
        let token = try await tokens.issue(for: .service(name))
        request.headers.add(name: "Authorization", value: "Bearer \(token)")
        if let body {
            request.headers.add(name: "Content-Type", value: "application/json")
            request.body = .bytes(ByteBuffer(bytes: try JSONEncoder().encode(body)))
        }
        var attempt = 1
        while true {
            do {
                let response = try await http.execute(
                    request, timeout: .nanoseconds(configuration.requestTimeout.nanoseconds))
                let answer = try await response.body.collect(upTo: 4 * 1_048_576)
                let status = Int(response.status.code)
                if status >= 500, idempotent, attempt == 1 {
                    attempt += 1
                    try await Task.sleep(for: configuration.retryBackoff)
                    continue
                }
                return (status, answer)
            } catch let error as CancellationError {
                throw error
            } catch {
                guard idempotent, attempt == 1 else { throw ServiceCallFailed(service: name, reason: "\(error)") }
                attempt += 1
                try await Task.sleep(for: configuration.retryBackoff)
            }
        }
    }

    func decode<T: Decodable>(_ type: T.Type, _ body: ByteBuffer) throws -> T {
        do {
            return try JSONDecoder().decode(T.self, from: Data(body.readableBytesView))
        } catch {
            throw ServiceCallFailed(service: name, reason: "unreadable answer: \(error)")
        }
    }

    func unexpected(_ status: Int, _ body: ByteBuffer) -> ServiceCallFailed {
        ServiceCallFailed(service: name, reason: "answered \(status): \(String(buffer: body).prefix(300))")
    }
}
