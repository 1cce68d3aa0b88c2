import AsyncHTTPClient
import Foundation
import MeridianCore
import NIOCore
import NIOHTTP1

#if canImport(FoundationXML)
    import FoundationXML
#endif

/// The object storage port on an S3-compatible store: AWS S3, Google Cloud Storage (XML API with HMAC keys),
/// DigitalOcean Spaces, MinIO and Ceph.
///
/// Requests are signed with ``SignatureV4`` and sent with async-http-client. Bodies stream: a put holds at most
/// one part (``Configuration/partSize``) in memory; a body larger than one part becomes a multipart upload,
/// aborted when anything fails; a get hands the response's bytes on as they arrive. Payloads are sent as
/// `UNSIGNED-PAYLOAD` (the signature covers the request, TLS the bytes), so nothing is read twice.
public struct S3ObjectStore: ObjectStore {
    public struct Configuration: Sendable {
        public var bucket: String
        /// Default `us-east-1`.
        public var region: String = "us-east-1"
        /// The service's URL, such as `https://storage.googleapis.com`, `https://fra1.digitaloceanspaces.com` or
        /// `http://minio:9000`; nil means AWS S3 in ``region``.
        public var endpoint: String?
        /// `https://endpoint/bucket/key` instead of `https://bucket.endpoint/key` (MinIO, Ceph, moto). Default false.
        public var pathStyle = false
        /// Bytes of one part of a multipart upload; a body up to this size is one `PUT`. Default 8 MiB (S3 takes
        /// parts of at least 5 MiB but the last).
        public var partSize = 8 * 1_048_576
        /// Longest wait for one request (a part, a listing), not for a whole streamed body. Default 60 s.
        public var requestTimeout: Duration = .seconds(60)

        public init(bucket: String) {
            self.bucket = bucket
        }
    }

    public let configuration: Configuration
    private let credentials: any S3CredentialSource
    private let http: HTTPClient
    private let scheme: String
    /// `host[:port]` of the requests, as signed.
    private let host: String

    public init(configuration: Configuration, credentials: S3Credentials, http: HTTPClient = .shared) throws {
        try self.init(configuration: configuration, credentialSource: StaticCredentials(credentials), http: http)
    }

    /// - Parameter credentialSource: asked before each request (web identity renews its credentials before they expire).
    public init(configuration: Configuration, credentialSource: any S3CredentialSource, http: HTTPClient = .shared) throws {
        self.configuration = configuration
        self.http = http
        credentials = credentialSource
        let endpoint = configuration.endpoint ?? "https://s3.\(configuration.region).amazonaws.com"
        guard let parsed = AWSEndpoint(endpoint) else {
            throw ObjectStoreError.unavailable("the endpoint \(endpoint) is not an http(s) URL")
        }
        scheme = parsed.scheme
        host = (configuration.pathStyle ? "" : "\(configuration.bucket).") + parsed.host
    }

    // MARK: ObjectStore

    public func put<Body: AsyncSequence & Sendable>(
        _ key: ObjectKey, contentType: String, metadata: [String: String], limit: Int64?, body: Body
    ) async throws -> ObjectInfo where Body.Element == [UInt8] {
        var headers = try Self.metadataHeaders(metadata)
        headers["content-type"] = contentType
        let partSize = configuration.partSize
        var buffer: [UInt8] = []
        var size: Int64 = 0
        var uploadID: String?
        var parts: [(number: Int, etag: String)] = []
        do {
            for try await chunk in body {
                size += Int64(chunk.count)
                if let limit, size > limit { throw ObjectStoreError.tooLarge(limit: limit) }
                buffer += chunk
                while buffer.count >= partSize {
                    if uploadID == nil { uploadID = try await createMultipartUpload(key, headers: headers) }
                    let part = Array(buffer[..<partSize])
                    buffer.removeFirst(partSize)
                    parts.append((parts.count + 1, try await uploadPart(key, uploadID!, number: parts.count + 1, part)))
                }
            }
            if let uploadID {
                if !buffer.isEmpty {
                    parts.append((parts.count + 1, try await uploadPart(key, uploadID, number: parts.count + 1, buffer)))
                }
                try await completeMultipartUpload(key, uploadID, parts: parts)
            } else {
                _ = try await send(
                    .PUT, key: key, headers: headers, body: .bytes(ByteBuffer(bytes: buffer)), expect: [200])
            }
        } catch {
            if let uploadID {
                // Best effort: an upload left open keeps its parts (and their cost) until a lifecycle rule ends it.
                _ = try? await send(.DELETE, key: key, query: [("uploadId", uploadID)], expect: [204])
            }
            throw error
        }
        guard let info = try await head(key) else {
            throw ObjectStoreError.unavailable("put \(key): the object is not there after the upload")
        }
        return info
    }

    public func get(_ key: ObjectKey) async throws -> (info: ObjectInfo, bytes: ObjectBytes)? {
        try await get(key, from: 0)
    }

    /// The object from byte `offset`: a GET with `Range: bytes=<offset>-` (206, whose `Content-Range` gives the
    /// object's size), so the store sends only the rest. An offset at or past the end (416) gives the object's
    /// information (from a HEAD) and no bytes. A store that ignores `Range` (200 to a ranged GET) is an error,
    /// never a download of the bytes before `offset`.
    public func get(_ key: ObjectKey, from offset: Int64) async throws -> (info: ObjectInfo, bytes: ObjectBytes)? {
        guard offset >= 0 else { throw ObjectStoreError.invalidRange("offset \(offset) is negative") }
        let ranged = offset > 0
        let response = try await send(
            .GET, key: key, headers: ranged ? ["range": "bytes=\(offset)-"] : [:],
            expect: ranged ? [206, 404, 416] : [200, 404])
        if response.status.code == 416 {
            _ = try? await response.body.collect(upTo: 65_536)
            guard let info = try await head(key) else { return nil }
            return (info, ObjectBytes.producing({ _ in }, describe: { $0 }))
        }
        guard response.status == .ok || response.status == .partialContent else {
            _ = try? await response.body.collect(upTo: 65_536)
            return nil
        }
        var info = Self.info(key, response.headers)
        if response.status == .partialContent {
            // `Content-Range: bytes <first>-<last>/<size>`: the length of the object, not of this part.
            guard let total = response.headers.first(name: "content-range")?.split(separator: "/").last.flatMap({ Int64($0) })
            else { throw ObjectStoreError.unavailable("get \(key): a partial answer without Content-Range") }
            info.size = total
        }
        let stream = ObjectBytes.producing(
            { yield in
                for try await buffer in response.body { yield(Array(buffer.readableBytesView)) }
            },
            describe: { ObjectStoreError.unavailable("get \(key): \($0)") })
        return (info, stream)
    }

    public func head(_ key: ObjectKey) async throws -> ObjectInfo? {
        let response = try await send(.HEAD, key: key, expect: [200, 404])
        return response.status == .ok ? Self.info(key, response.headers) : nil
    }

    public func list(prefix: String, after token: String?, limit: Int) async throws -> ObjectListing {
        var query = [("list-type", "2"), ("max-keys", String(min(max(limit, 1), 1_000)))]
        if !prefix.isEmpty { query.append(("prefix", prefix)) }
        if let token { query.append(("continuation-token", token)) }
        let response: HTTPClientResponse
        do {
            response = try await send(.GET, key: nil, query: query, expect: [200])
        } catch let error as ObjectStoreError where token != nil {
            if case .unavailable(let message) = error, message.contains("InvalidArgument") { throw ObjectStoreError.invalidToken }
            throw error
        }
        let document = try await S3XML.parse(response.body.collect(upTo: 16 * 1_048_576))
        var objects: [ObjectInfo] = []
        for item in document.children(named: "Contents") {
            guard let key = item.text(of: "Key").flatMap(ObjectKey.init(rawValue:)) else { continue }
            objects.append(
                ObjectInfo(
                    key: key, size: Int64(item.text(of: "Size") ?? "") ?? 0, contentType: "application/octet-stream",
                    etag: item.text(of: "ETag") ?? "",
                    lastModified: item.text(of: "LastModified").flatMap(Timestamp.parse) ?? .distantPast))
        }
        let truncated = document.text(of: "IsTruncated") == "true"
        return ObjectListing(objects: objects, nextToken: truncated ? document.text(of: "NextContinuationToken") : nil)
    }

    public func delete(_ key: ObjectKey) async throws {
        _ = try await send(.DELETE, key: key, expect: [200, 204, 404])
    }

    /// Presigns with the current credentials; with temporary ones (web identity) a presigned URL stops working
    /// when they expire, whatever its own expiry.
    public func presign(_ method: PresignedRequest.Method, _ key: ObjectKey, contentType: String?, expiresIn: Duration)
        async throws -> PresignedRequest
    {
        let signer = SignatureV4(credentials: try await credentials.current(), region: configuration.region)
        let seconds = expiresIn.components.seconds
        guard (1...604_800).contains(seconds) else {
            throw ObjectStoreError.invalidSignature("a presigned URL lives from 1 second to 7 days")
        }
        let now = Date()
        let signedHeaders = method == .put && contentType != nil ? ["content-type": contentType!] : [:]
        let path = path(of: key)
        let query = signer.presignedQuery(
            method: method.rawValue, host: host, path: path, headers: signedHeaders, expires: Int(seconds), date: now)
        return PresignedRequest(
            method: method, url: "\(scheme)://\(host)\(SignatureV4.encodePath(path))?\(query)",
            headers: signedHeaders.isEmpty ? [:] : ["Content-Type": contentType!],
            expiresAt: now.addingTimeInterval(TimeInterval(seconds)))
    }

    // MARK: Multipart

    private func createMultipartUpload(_ key: ObjectKey, headers: [String: String]) async throws -> String {
        let response = try await send(.POST, key: key, query: [("uploads", "")], headers: headers, expect: [200])
        let document = try await S3XML.parse(response.body.collect(upTo: 1_048_576))
        guard let id = document.text(of: "UploadId") else {
            throw ObjectStoreError.unavailable("put \(key): the store gave no upload id")
        }
        return id
    }

    private func uploadPart(_ key: ObjectKey, _ uploadID: String, number: Int, _ bytes: [UInt8]) async throws -> String {
        let response = try await send(
            .PUT, key: key, query: [("partNumber", String(number)), ("uploadId", uploadID)],
            body: .bytes(ByteBuffer(bytes: bytes)), expect: [200])
        guard let etag = response.headers.first(name: "etag") else {
            throw ObjectStoreError.unavailable("put \(key): part \(number) has no ETag")
        }
        return etag
    }

    private func completeMultipartUpload(_ key: ObjectKey, _ uploadID: String, parts: [(number: Int, etag: String)])
        async throws
    {
        let xml =
            "<CompleteMultipartUpload>"
            + parts.map { "<Part><PartNumber>\($0.number)</PartNumber><ETag>\(Self.escapeXML($0.etag))</ETag></Part>" }
            .joined() + "</CompleteMultipartUpload>"
        let response = try await send(
            .POST, key: key, query: [("uploadId", uploadID)],
            headers: ["content-type": "application/xml"],
            body: .bytes(ByteBuffer(string: xml)), expect: [200])
        // S3 can answer 200 with an error in the body when the completion fails late.
        let document = try await S3XML.parse(response.body.collect(upTo: 1_048_576))
        if document.name == "Error" {
            throw ObjectStoreError.unavailable(
                "put \(key): \(document.text(of: "Code") ?? "error"): \(document.text(of: "Message") ?? "")")
        }
    }

    // MARK: Requests

    private func path(of key: ObjectKey?) -> String {
        let keyPath = key.map { "/" + $0.rawValue } ?? "/"
        return configuration.pathStyle ? "/\(configuration.bucket)\(key == nil ? "" : keyPath)" : keyPath
    }

    /// Sends a signed request; a status outside `expect` is an error naming the store's code and message.
    private func send(
        _ method: HTTPMethod, key: ObjectKey?, query: [(String, String)] = [], headers: [String: String] = [:],
        body: HTTPClientRequest.Body? = nil, expect: Set<UInt>
    ) async throws -> HTTPClientResponse {
        let path = path(of: key)
        let queryText = query.isEmpty ? "" : "?" + SignatureV4.canonicalQuery(query)
        var request = HTTPClientRequest(url: "\(scheme)://\(host)\(SignatureV4.encodePath(path))\(queryText)")
        request.method = method
        let signer = SignatureV4(credentials: try await credentials.current(), region: configuration.region)
        var signed = headers
        signed["host"] = host
        for (name, value) in signer.authorization(
            method: method.rawValue, path: path, query: query, headers: signed, payloadHash: SignatureV4.unsignedPayload)
        {
            request.headers.add(name: name, value: value)
        }
        for (name, value) in headers { request.headers.add(name: name, value: value) }
        request.body = body
        let response: HTTPClientResponse
        do {
            response = try await http.execute(request, timeout: .nanoseconds(configuration.requestTimeout.nanoseconds))
        } catch {
            throw ObjectStoreError.unavailable("cannot reach \(scheme)://\(host): \(error)")
        }
        guard expect.contains(response.status.code) else {
            let text = try? await response.body.collect(upTo: 65_536)
            let document = text.flatMap { try? S3XML.parseNow($0) }
            let code = document?.text(of: "Code") ?? "HTTP \(response.status.code)"
            let message = document?.text(of: "Message") ?? response.status.reasonPhrase
            throw ObjectStoreError.unavailable("\(method.rawValue) \(key?.rawValue ?? "/"): \(code): \(message)")
        }
        return response
    }

    private static func info(_ key: ObjectKey, _ headers: HTTPHeaders) -> ObjectInfo {
        var metadata: [String: String] = [:]
        for (name, value) in headers where name.lowercased().hasPrefix("x-amz-meta-") {
            metadata[String(name.lowercased().dropFirst("x-amz-meta-".count))] = value
        }
        return ObjectInfo(
            key: key, size: Int64(headers.first(name: "content-length") ?? "") ?? 0,
            contentType: headers.first(name: "content-type") ?? "application/octet-stream",
            etag: headers.first(name: "etag") ?? "",
            lastModified: headers.first(name: "last-modified").flatMap(httpDate) ?? .distantPast, metadata: metadata)
    }

    /// `x-amz-meta-*` headers; S3 keeps lower-case names and ASCII values.
    static func metadataHeaders(_ metadata: [String: String]) throws(ObjectStoreError) -> [String: String] {
        var headers: [String: String] = [:]
        for (name, value) in metadata {
            guard !name.isEmpty, name.utf8.allSatisfy({ ($0 >= 97 && $0 <= 122) || ($0 >= 48 && $0 <= 57) || $0 == 45 })
            else { throw .invalidMetadata("name \(name.debugDescription): use lower-case letters, digits and -") }
            guard value.utf8.allSatisfy({ $0 >= 0x20 && $0 < 0x7F }) else {
                throw .invalidMetadata("value of \(name): printable ASCII only")
            }
            headers["x-amz-meta-\(name)"] = value
        }
        return headers
    }

    private static func httpDate(_ text: String) -> Date? {
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "GMT")
        formatter.dateFormat = "EEE, dd MMM yyyy HH:mm:ss zzz"
        return formatter.date(from: text)
    }

    private static func escapeXML(_ text: String) -> String {
        text.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;")
            .replacingOccurrences(of: ">", with: "&gt;").replacingOccurrences(of: "\"", with: "&quot;")
    }
}

/// A parsed XML element: S3's answers are small documents of named text fields.
struct S3XML: Sendable {
    var name: String
    var text = ""
    var children: [S3XML] = []

    /// The text of the first descendant named `name`.
    func text(of name: String) -> String? {
        for child in children {
            if child.name == name { return child.text }
            if let found = child.text(of: name) { return found }
        }
        return nil
    }

    func children(named name: String) -> [S3XML] { children.filter { $0.name == name } }

    static func parse(_ buffer: ByteBuffer) throws -> S3XML {
        guard let element = try? parseNow(buffer) else {
            throw ObjectStoreError.unavailable("the store's answer is not XML")
        }
        return element
    }

    static func parseNow(_ buffer: ByteBuffer) throws -> S3XML {
        let builder = Builder()
        let parser = XMLParser(data: Data(buffer.readableBytesView))
        parser.delegate = builder
        guard parser.parse(), let root = builder.root else {
            throw ObjectStoreError.unavailable("the store's answer is not XML")
        }
        return root
    }

    private final class Builder: NSObject, XMLParserDelegate {
        var stack: [S3XML] = []
        var root: S3XML?

        func parser(
            _ parser: XMLParser, didStartElement name: String, namespaceURI: String?, qualifiedName: String?,
            attributes: [String: String] = [:]
        ) {
            stack.append(S3XML(name: name))
        }

        func parser(_ parser: XMLParser, foundCharacters string: String) {
            if !stack.isEmpty { stack[stack.count - 1].text += string }
        }

        func parser(_ parser: XMLParser, didEndElement name: String, namespaceURI: String?, qualifiedName: String?) {
            guard let element = stack.popLast() else { return }
            if stack.isEmpty { root = element } else { stack[stack.count - 1].children.append(element) }
        }
    }
}
