import Foundation
import HTTPTypes
import Hummingbird
import MeridianContracts
import MeridianCore
import MeridianFileObjects
import MeridianHTTP
import NIOCore

/// `/objects/<key>`: the local-files store served over HTTP, so that the embedded mode has the flow S3 gives —
/// presigned GET and PUT URLs (``FileObjectStore/presign(_:_:contentType:expiresIn:)``), and the processed product
/// images readable by anyone, as a public bucket prefix would be.
///
/// A GET answers with the object's `ETag` and `Last-Modified`, `304 Not Modified` to a matching `If-None-Match`,
/// and caching headers: `public, max-age=31536000, immutable` for the public prefixes (a variant's key names its
/// upload, so its bytes never change), `private` until the URL expires for a signed one. A PUT needs a signed URL
/// for that key, that content type and a time before its expiry; the body streams to the store within the limit.
struct ObjectRoutes: APIRoutes {
    let store: FileObjectStore
    /// Key prefixes anyone may read without a signature.
    var publicPrefixes = ["processed/"]
    /// Largest PUT under `uploads/` (`images.maxUploadBytes`); elsewhere ``otherPutBytes``.
    var uploadBytes: Int64
    /// Largest PUT elsewhere: 5 GiB, S3's limit for one PUT.
    var otherPutBytes: Int64 = 5 * 1_073_741_824

    func addRoutes(to router: some RouterMethods<MeridianRequestContext>) {
        router.get("objects/**") { request, _ in try await self.get(request, headOnly: false) }
        router.head("objects/**") { request, _ in try await self.get(request, headOnly: true) }
        router.put("objects/**") { request, _ in try await self.put(request) }
    }

    /// The key the path names (each segment percent-decoded).
    private func key(_ request: Request) throws -> ObjectKey {
        let path = request.uri.path.dropFirst("/objects/".count)
        let segments = path.split(separator: "/", omittingEmptySubsequences: false).map {
            String($0).removingPercentEncoding
        }
        guard segments.allSatisfy({ $0 != nil }) else {
            throw ProblemDetails(.badRequest, slug: "invalid-path", detail: "the object key is not valid", field: "path")
        }
        do {
            return try ObjectKey(validating: segments.compactMap { $0 }.joined(separator: "/"))
        } catch {
            throw ProblemDetails(.badRequest, slug: "invalid-path", detail: "\(error)", field: "path")
        }
    }

    /// The signature of a presigned request, or nil when it has none.
    private func signature(_ request: Request) throws -> (expires: Int64, signature: String)? {
        let query = request.uri.queryParameters
        guard let signature = query.get("signature") else { return nil }
        guard let expires = query.get("expires").flatMap(Int64.init) else {
            throw Self.forbidden("the URL's expires is missing or not a number")
        }
        return (expires, signature)
    }

    private static func forbidden(_ why: String) -> ProblemDetails {
        ProblemDetails(.forbidden, slug: "invalid-signature", detail: "this URL does not grant access: \(why)")
    }

    private func get(_ request: Request, headOnly: Bool) async throws -> Response {
        let key = try key(request)
        var cacheControl = "public, max-age=31536000, immutable"
        if let (expires, signature) = try signature(request) {
            do {
                try store.verify(.get, key, expires: expires, signature: signature, contentType: nil)
            } catch {
                throw Self.forbidden("\(error)")
            }
            let remaining = max(0, expires - Int64(Date().timeIntervalSince1970))
            cacheControl = "private, max-age=\(remaining)"
        } else if !publicPrefixes.contains(where: key.rawValue.hasPrefix) {
            throw Self.forbidden("this object is not public: use a presigned URL")
        }
        guard let (info, bytes) = try await store.get(key) else {
            throw ProblemDetails(.notFound, slug: "not-found", detail: "no object \(key.rawValue)")
        }
        var headers: HTTPFields = [
            .eTag: info.etag, .cacheControl: cacheControl,
            .lastModified: Self.httpDate(info.lastModified),
        ]
        if let match = request.headers[.ifNoneMatch],
            match == "*" || match.split(separator: ",").contains(where: { $0.trimmingCharacters(in: .whitespaces) == info.etag })
        {
            return Response(status: .notModified, headers: headers)
        }
        headers[.contentType] = info.contentType
        headers[.contentLength] = String(info.size)
        if headOnly {
            return Response(status: .ok, headers: headers)
        }
        return Response(
            status: .ok, headers: headers, body: ResponseBody(asyncSequence: bytes.map { ByteBuffer(bytes: $0) }))
    }

    private func put(_ request: Request) async throws -> Response {
        let key = try key(request)
        guard let (expires, signature) = try signature(request) else {
            throw Self.forbidden("a PUT needs a presigned URL")
        }
        let contentType = request.headers[.contentType]
        do {
            try store.verify(.put, key, expires: expires, signature: signature, contentType: contentType)
        } catch {
            throw Self.forbidden("\(error) (the Content-Type must be the one the URL was made for)")
        }
        let limit = key.rawValue.hasPrefix("uploads/") ? uploadBytes : otherPutBytes
        if let length = request.headers[.contentLength].flatMap(Int64.init), length > limit {
            throw ProblemDetails(.contentTooLarge, slug: "too-large", detail: "the object exceeds the limit of \(limit) bytes")
        }
        let stored: ObjectInfo
        do {
            stored = try await store.put(
                key, contentType: contentType ?? "application/octet-stream", metadata: [:], limit: limit,
                body: request.body.map { Array($0.readableBytesView) })
        } catch ObjectStoreError.tooLarge {
            throw ProblemDetails(.contentTooLarge, slug: "too-large", detail: "the object exceeds the limit of \(limit) bytes")
        }
        return Response(status: .ok, headers: [.eTag: stored.etag])
    }

    /// An IMF-fixdate (RFC 9110): `Sun, 06 Nov 1994 08:49:37 GMT`.
    static func httpDate(_ date: Date) -> String {
        date.formatted(
            Date.VerbatimFormatStyle(
                format:
                    "\(weekday: .abbreviated), \(day: .twoDigits) \(month: .abbreviated) \(year: .defaultDigits) \(hour: .twoDigits(clock: .twentyFourHour, hourCycle: .zeroBased)):\(minute: .twoDigits):\(second: .twoDigits) GMT",
                locale: Locale(identifier: "en_US_POSIX"), timeZone: .gmt, calendar: Calendar(identifier: .gregorian)))
    }
}
