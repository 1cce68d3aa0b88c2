import Foundation

/// The name of an object in an ``ObjectStore``: a relative path of `/`-separated segments.
///
/// Validated once, where a key comes in, so that no adapter ever sees one that could leave its store: not
/// empty, at most 1,024 bytes of UTF-8 (S3's limit), no control characters or backslashes, no leading or
/// trailing `/`, no empty segment (`a//b`), and no `.` or `..` segment.
public struct ObjectKey: RawRepresentable, Hashable, Sendable, CustomStringConvertible, Comparable {
    /// The longest key, in bytes of UTF-8.
    public static let maxBytes = 1_024

    public let rawValue: String

    /// The key `rawValue`, or nil when it breaks a rule (``validate(_:)`` says which).
    public init?(rawValue: String) {
        guard Self.validate(rawValue) == nil else { return nil }
        self.rawValue = rawValue
    }

    /// The key `text`; throws naming the broken rule.
    public init(validating text: String) throws(ObjectStoreError) {
        if let problem = Self.validate(text) { throw .invalidKey(text, problem) }
        self.rawValue = text
    }

    /// Why `text` is not a valid key, or nil when it is.
    public static func validate(_ text: String) -> String? {
        let utf8 = text.utf8
        if utf8.isEmpty { return "is empty" }
        if utf8.count > maxBytes { return "is longer than \(maxBytes) bytes" }
        if utf8.contains(where: { $0 < 0x20 || $0 == 0x7F }) { return "contains a control character" }
        if utf8.contains(UInt8(ascii: "\\")) { return "contains a backslash" }
        if utf8.first == UInt8(ascii: "/") { return "starts with /" }
        if utf8.last == UInt8(ascii: "/") { return "ends with /" }
        for segment in utf8.split(separator: UInt8(ascii: "/"), omittingEmptySubsequences: false) {
            if segment.isEmpty { return "has an empty segment (//)" }
            if segment.elementsEqual(".".utf8) || segment.elementsEqual("..".utf8) { return "has a . or .. segment" }
        }
        return nil
    }

    public var description: String { rawValue }

    public static func < (lhs: ObjectKey, rhs: ObjectKey) -> Bool {
        // Byte order, as S3 lists keys.
        lhs.rawValue.utf8.lexicographicallyPrecedes(rhs.rawValue.utf8)
    }
}

/// What a store knows of an object.
public struct ObjectInfo: Sendable, Hashable {
    public var key: ObjectKey
    public var size: Int64
    public var contentType: String
    /// Changes whenever the content changes (quoted, as HTTP's `ETag`).
    public var etag: String
    public var lastModified: Date
    /// User metadata (S3's `x-amz-meta-*`): lower-case names.
    public var metadata: [String: String]

    public init(
        key: ObjectKey, size: Int64, contentType: String, etag: String, lastModified: Date, metadata: [String: String] = [:]
    ) {
        self.key = key
        self.size = size
        self.contentType = contentType
        self.etag = etag
        self.lastModified = lastModified
        self.metadata = metadata
    }
}

/// One page of a listing, in key order.
public struct ObjectListing: Sendable, Hashable {
    public var objects: [ObjectInfo]
    /// Pass it to the next ``ObjectStore/list(prefix:after:limit:)``; nil on the last page.
    public var nextToken: String?

    public init(objects: [ObjectInfo], nextToken: String?) {
        self.objects = objects
        self.nextToken = nextToken
    }
}

/// A request a client may make without credentials until `expiresAt`: a presigned URL.
public struct PresignedRequest: Sendable, Hashable {
    public enum Method: String, Sendable, Hashable {
        case get = "GET"
        case put = "PUT"
    }

    public var method: Method
    public var url: String
    /// Headers the client must send as given (for a PUT, its `Content-Type`).
    public var headers: [String: String]
    public var expiresAt: Date

    public init(method: Method, url: String, headers: [String: String], expiresAt: Date) {
        self.method = method
        self.url = url
        self.headers = headers
        self.expiresAt = expiresAt
    }
}

/// Why an object store refused or failed.
public enum ObjectStoreError: Error, Sendable, Hashable, CustomStringConvertible {
    /// A key that breaks a rule of ``ObjectKey``.
    case invalidKey(String, String)
    /// A body larger than the caller's limit.
    case tooLarge(limit: Int64)
    /// Metadata a store cannot keep (S3 takes lower-case names of letters, digits and `-`, and ASCII values).
    case invalidMetadata(String)
    /// A listing token this store did not give.
    case invalidToken
    /// A presigned URL whose signature, method or key does not match, or that expired.
    case invalidSignature(String)
    /// The store could not do it (disk, network, credentials): the message names the cause.
    case unavailable(String)
    /// A byte range that cannot be read (a negative offset).
    case invalidRange(String)

    public var description: String {
        switch self {
        case .invalidKey(let key, let problem): "object key \(key.debugDescription) \(problem)"
        case .tooLarge(let limit): "the object is larger than \(limit) bytes"
        case .invalidMetadata(let why): "object metadata \(why)"
        case .invalidToken: "the listing token is not valid"
        case .invalidSignature(let why): "the presigned URL is not valid: \(why)"
        case .unavailable(let why): "object storage is unavailable: \(why)"
        case .invalidRange(let why): "the byte range is not valid: \(why)"
        }
    }
}

/// A stream of an object's bytes, chunk by chunk.
public typealias ObjectBytes = AsyncThrowingStream<[UInt8], any Error>

extension AsyncThrowingStream where Element == [UInt8], Failure == any Error {
    /// A stream whose chunks `produce` hands to `yield` from a task of its own; the task is cancelled when the
    /// reader stops early, and a failure reaches the reader as what `describe` makes of it.
    public static func producing(
        _ produce: @escaping @Sendable (_ yield: @Sendable ([UInt8]) -> Void) async throws -> Void,
        describe: @escaping @Sendable (any Error) -> any Error
    ) -> ObjectBytes {
        let (stream, continuation) = ObjectBytes.makeStream()
        let producer = Task {
            do {
                try await produce { continuation.yield($0) }
                continuation.finish()
            } catch {
                continuation.finish(throwing: describe(error))
            }
        }
        continuation.onTermination = { _ in producer.cancel() }
        return stream
    }
}

/// The object storage port: product images, CSV files, analytics output. Adapters: local files (embedded)
/// and S3-compatible stores.
///
/// Bodies stream in both directions: no adapter holds a whole object in memory.
public protocol ObjectStore: Sendable {
    /// Stores `body` under `key`, replacing any object there once it is complete (readers see the old
    /// object or the new one, never a part). Throws ``ObjectStoreError/tooLarge(limit:)`` past `limit` bytes,
    /// leaving nothing behind.
    func put<Body: AsyncSequence & Sendable>(
        _ key: ObjectKey, contentType: String, metadata: [String: String], limit: Int64?, body: Body
    ) async throws -> ObjectInfo where Body.Element == [UInt8]

    /// The object's information and bytes, or nil when there is none.
    func get(_ key: ObjectKey) async throws -> (info: ObjectInfo, bytes: ObjectBytes)?

    /// The object's information and its bytes from byte `offset` to the end, or nil when there is none.
    ///
    /// The store reads from `offset` itself (a seek on a file, an HTTP `Range: bytes=<offset>-` on S3), so a
    /// resumed reader never transfers the bytes before it. `info` describes the whole object (its `size` is the
    /// object's, not the rest's). An offset at or past the end gives no bytes; a negative one throws
    /// ``ObjectStoreError/invalidRange(_:)``.
    func get(_ key: ObjectKey, from offset: Int64) async throws -> (info: ObjectInfo, bytes: ObjectBytes)?

    /// The object's information, or nil when there is none.
    func head(_ key: ObjectKey) async throws -> ObjectInfo?

    /// Up to `limit` objects whose keys start with `prefix`, in key order, from the page `after` names. A listing
    /// gives each object's key, size, ETag and time; its content type and metadata only where the store's listing
    /// has them (S3's has not: `head` has).
    func list(prefix: String, after token: String?, limit: Int) async throws -> ObjectListing

    /// Removes the object; nothing happens when there is none.
    func delete(_ key: ObjectKey) async throws

    /// A URL that lets anyone holding it `method` the object until `expiresIn` from now.
    func presign(_ method: PresignedRequest.Method, _ key: ObjectKey, contentType: String?, expiresIn: Duration)
        async throws -> PresignedRequest
}

extension ObjectStore {
    /// Stores `bytes` under `key` in one piece.
    public func put(_ key: ObjectKey, contentType: String, metadata: [String: String] = [:], bytes: [UInt8]) async throws
        -> ObjectInfo
    {
        let (body, continuation) = AsyncStream<[UInt8]>.makeStream()
        continuation.yield(bytes)
        continuation.finish()
        return try await put(key, contentType: contentType, metadata: metadata, limit: nil, body: body)
    }

    /// All the bytes of the object under `key` (for small objects), or nil when there is none.
    public func bytes(of key: ObjectKey) async throws -> [UInt8]? {
        guard let (_, stream) = try await get(key) else { return nil }
        var bytes: [UInt8] = []
        for try await chunk in stream { bytes += chunk }
        return bytes
    }
}
