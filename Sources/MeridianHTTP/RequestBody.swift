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
    let data = Data(buffer.readableBytesView)
    do {
        return try JSONDecoder().decode(Body.self, from: data)
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
        // Foundation reports a number that does not fit an `Int` as invalid JSON, without its path: when the
        // JSON itself is valid, find that number so the answer names its field.
        if let object = try? JSONSerialization.jsonObject(with: data, options: [.fragmentsAllowed]),
            let field = firstNonInteger(object, path: [])
        {
            throw ProblemDetails(
                .unprocessableContent, slug: "invalid-field",
                detail: "\(field) must be an integer between \(Int.min) and \(Int.max)", field: field)
        }
        throw ProblemDetails(.badRequest, slug: "malformed", detail: "the body is not valid JSON")
    }
}

/// The path of the first number in `value` that is not an integer an `Int` holds (`1e30`, `1.5`, 2^63).
private func firstNonInteger(_ value: Any, path: [String]) -> String? {
    switch value {
    case let object as [String: Any]:
        for key in object.keys.sorted() {
            if let found = firstNonInteger(object[key]!, path: path + [key]) { return found }
        }
    case let array as [Any]:
        for (index, element) in array.enumerated() {
            if let found = firstNonInteger(element, path: path + [String(index)]) { return found }
        }
    case let number as NSNumber where !(value is Bool):
        if Int(number.description) == nil { return path.joined(separator: ".") }
    default:
        break
    }
    return nil
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
