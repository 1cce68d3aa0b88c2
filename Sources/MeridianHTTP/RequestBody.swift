import Foundation
import HTTPTypes
import Hummingbird
import MeridianCore
import NIOCore

/// The request's body, up to `limit` bytes; a larger one is a 413 problem, whether it announced its length
/// or not (chunked bodies end in `NIOTooManyBytesError` once they pass the limit).
public func collectBody(_ request: Request, limit: Int) async throws -> ByteBuffer {
    func tooLarge() -> ProblemDetails {
        ProblemDetails(.contentTooLarge, slug: "too-large", detail: "the body exceeds the limit of \(limit) bytes")
    }
    if let length = request.headers[.contentLength].flatMap(Int.init), length > limit { throw tooLarge() }
    do {
        return try await request.body.collect(upTo: limit)
    } catch is NIOTooManyBytesError {
        throw tooLarge()
    } catch let error as any HTTPResponseError where error.status == .contentTooLarge {
        throw tooLarge()
    }
}

/// Reads a JSON request body into `Body`, answering client mistakes with problems that name the field:
/// 415 unless the media type is `application/json` (UTF-8), 413 over the context's ``RequestLimits/jsonBodyBytes``,
/// 400 for malformed JSON or a missing or mistyped field, 422 for a number out of range.
public func decodeJSONBody<Body: Decodable>(
    _ type: Body.Type,
    from request: Request,
    context: MeridianRequestContext
) async throws -> Body {
    guard let contentType = request.headers[.contentType].flatMap({ MediaType(from: $0) }), isJSON(contentType) else {
        throw ProblemDetails(
            .unsupportedMediaType, slug: "unsupported-media-type", detail: "send application/json", field: "Content-Type")
    }
    let buffer = try await collectBody(request, limit: context.limits.jsonBodyBytes)
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
    } catch let DecodingError.dataCorrupted(context) where !context.codingPath.isEmpty {
        // A number too large for its type (or a value its type refuses): the field is known.
        throw ProblemDetails(
            .unprocessableContent, slug: "invalid-field", detail: "\(path(context.codingPath)) is out of range",
            field: path(context.codingPath))
    } catch let violation as FieldViolation {
        throw ProblemDetails(violation)
    } catch {
        throw ProblemDetails(.badRequest, slug: "malformed", detail: "the body is not valid JSON")
    }
}

/// `application/json`, exactly (Hummingbird's parser; `application/jsonx` is another type), in UTF-8.
func isJSON(_ mediaType: MediaType) -> Bool {
    guard mediaType.type == .application, mediaType.subType == "json" else { return false }
    guard let parameter = mediaType.parameter else { return true }
    return parameter.name.lowercased() == "charset" && ["utf-8", "utf8"].contains(parameter.value.lowercased())
}

private func path(_ keys: [any CodingKey]) -> String {
    keys.map { $0.intValue.map(String.init) ?? $0.stringValue }.joined(separator: ".")
}
