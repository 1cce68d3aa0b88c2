import Foundation
import HTTPTypes
import Hummingbird

/// Reads a JSON request body into `Body`, answering client mistakes with problems that name the field:
/// 415 without a JSON content type, 413 over `limit`, 400 for malformed JSON or a missing or mistyped field.
public func decodeJSONBody<Body: Decodable>(
    _ type: Body.Type,
    from request: Request,
    limit: Int = 65_536
) async throws -> Body {
    let contentType = request.headers[.contentType]?.lowercased() ?? ""
    guard contentType.hasPrefix("application/json") || contentType.hasPrefix("application/problem+json") else {
        throw ProblemDetails(
            .unsupportedMediaType, slug: "unsupported-media-type", detail: "send application/json", field: "Content-Type")
    }
    let buffer: ByteBuffer
    do {
        buffer = try await request.body.collect(upTo: limit)
    } catch let error as HTTPError where error.status == .contentTooLarge {
        throw ProblemDetails(.contentTooLarge, slug: "too-large", detail: "the body exceeds \(limit) bytes")
    }
    do {
        return try JSONDecoder().decode(Body.self, from: Data(buffer.readableBytesView))
    } catch let DecodingError.keyNotFound(key, context) {
        throw ProblemDetails(
            .badRequest, slug: "malformed", detail: "\(path(context.codingPath + [key])) is required",
            field: path(context.codingPath + [key]))
    } catch let DecodingError.typeMismatch(_, context), let DecodingError.valueNotFound(_, context) {
        throw ProblemDetails(
            .badRequest, slug: "malformed", detail: "\(path(context.codingPath)) has the wrong type",
            field: path(context.codingPath))
    } catch {
        throw ProblemDetails(.badRequest, slug: "malformed", detail: "the body is not valid JSON")
    }
}

private func path(_ keys: [any CodingKey]) -> String {
    keys.map { $0.intValue.map(String.init) ?? $0.stringValue }.joined(separator: ".")
}
