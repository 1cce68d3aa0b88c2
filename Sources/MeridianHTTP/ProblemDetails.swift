import Foundation
import HTTPTypes
import Hummingbird
import MeridianCore

/// An RFC 9457 problem: the body of every error response, as `application/problem+json`.
public struct ProblemDetails: Error, Sendable, Encodable {
    /// A URI naming the kind of problem.
    public var type: String
    public var title: String
    public var status: Int
    public var detail: String
    /// The request field or attribute at fault, when there is one.
    public var field: String?
    /// Seconds to wait before retrying (also sent as `Retry-After`).
    public var retryAfter: Int?
    /// The id of the request, to find it in the logs.
    public var requestID: String?

    enum CodingKeys: String, CodingKey {
        case type, title, status, detail, field
        case retryAfter = "retry_after"
        case requestID = "request_id"
    }

    public init(
        _ status: HTTPResponse.Status,
        slug: String,
        detail: String,
        field: String? = nil,
        retryAfter: Int? = nil
    ) {
        self.type = "https://meridian.dev/problems/\(slug)"
        self.title = status.reasonPhrase
        self.status = status.code
        self.detail = detail
        self.field = field
        self.retryAfter = retryAfter
    }

    /// The problem as a response.
    public func response(requestID: String? = nil, extraHeaders: HTTPFields = [:]) -> Response {
        var problem = self
        problem.requestID = requestID ?? self.requestID
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        let body = (try? encoder.encode(problem)) ?? Data()
        var headers: HTTPFields = [.contentType: "application/problem+json"]
        if let retryAfter { headers[.retryAfter] = String(retryAfter) }
        headers.append(contentsOf: extraHeaders)
        return Response(
            status: HTTPResponse.Status(code: status),
            headers: headers,
            body: ResponseBody(byteBuffer: ByteBuffer(bytes: body)))
    }
}

/// An error that knows the problem a client should get for it (a dependency that is down: 503).
public protocol ProblemConvertible: Error {
    var problem: ProblemDetails { get }
}

extension ProblemDetails {
    /// A 422 naming the field a rule refused.
    public init(_ violation: FieldViolation) {
        self.init(.unprocessableContent, slug: "invalid-field", detail: violation.description, field: violation.field)
    }

    /// `Retry-After` in whole seconds: at least one, at most a day (whatever the clock or the rates computed).
    public static func retrySeconds(_ seconds: Double) -> Int {
        guard seconds.isFinite else { return 86_400 }
        return Int(min(86_400, max(1, seconds.rounded(.up))))
    }
}

/// Encodes a value as a JSON response.
public func jsonResponse(_ value: some Encodable, status: HTTPResponse.Status = .ok, headers: HTTPFields = [:]) -> Response {
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
    let body = (try? encoder.encode(value)) ?? Data("{}".utf8)
    var fields: HTTPFields = [.contentType: "application/json"]
    fields.append(contentsOf: headers)
    return Response(status: status, headers: fields, body: ResponseBody(byteBuffer: ByteBuffer(bytes: body)))
}
