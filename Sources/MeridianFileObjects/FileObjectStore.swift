import Crypto
import Foundation
import MeridianCore
import NIOPosix

#if canImport(Glibc)
    import Glibc
#endif

/// Objects as plain files under one directory: the embedded adapter of ``ObjectStore``.
///
/// - `<root>/<key>` holds the object's bytes exactly as they were put (a thumbnail is a JPEG file you can open);
/// - `<root>/.meta/<key>.json` its content type, metadata and ETag (MD5, as S3 gives for one-part objects);
/// - `<root>/.tmp/` the objects being written.
///
/// A put streams into a temporary file, fsyncs it and renames it into place, so a reader sees the old object
/// or the new one, never a part; a crash leaves at most a temporary file (removed when the store opens). The
/// metadata names the inode and size of the file it describes: after a crash between the two renames the
/// stale metadata is ignored and the file's own size and time stand in. File system calls run on NIO's
/// blocking thread pool, never on the Swift executor's threads.
///
/// Presigned URLs point at Meridian itself: `<publicURL>/objects/<key>?expires=<unix>&signature=<hex>`, an
/// HMAC-SHA256 over the method, the key, the expiry and (for a PUT) the content type, with a key kept in
/// `<root>/.meta/signing.key` (made on first use). ``verify(_:_:expires:signature:contentType:now:)`` checks one.
///
/// Limits: a key cannot lie under another object's key (`a` and `a/b` cannot both exist, as they can in S3), and
/// the first segments `.meta` and `.tmp` are reserved.
public struct FileObjectStore: ObjectStore {
    public struct Configuration: Sendable {
        /// The directory of the objects.
        public var root: String
        /// Where clients reach this server: the base of presigned URLs. Default `http://127.0.0.1:8080`.
        public var publicURL: String = "http://127.0.0.1:8080"

        public init(root: String) {
            self.root = root
        }
    }

    /// The longest a presigned URL may stay valid: 7 days, as S3 allows.
    public static let maxPresignedLifetime: Duration = .seconds(7 * 24 * 3600)

    public let configuration: Configuration
    private let root: String
    private let signingKey: SymmetricKey

    /// Opens (and creates) the store at `configuration.root`; removes parts left by a crash.
    public init(configuration: Configuration) throws {
        self.configuration = configuration
        var root = configuration.root
        while root.count > 1, root.hasSuffix("/") { root.removeLast() }
        self.root = root
        let files = FileManager.default
        do {
            for directory in [root, "\(root)/.meta", "\(root)/.tmp"] {
                try files.createDirectory(atPath: directory, withIntermediateDirectories: true)
            }
            // Parts of puts a crash interrupted (a put in progress elsewhere would be younger than an hour).
            for name in try files.contentsOfDirectory(atPath: "\(root)/.tmp") {
                let path = "\(root)/.tmp/\(name)"
                let modified = (try? files.attributesOfItem(atPath: path)[.modificationDate] as? Date) ?? .distantPast
                if modified < Date().addingTimeInterval(-3600) { try? files.removeItem(atPath: path) }
            }
            signingKey = try Self.loadOrMakeSigningKey(at: "\(root)/.meta/signing.key")
        } catch {
            throw ObjectStoreError.unavailable("\(root): \(Self.describe(error))")
        }
    }

    // MARK: ObjectStore

    public func put<Body: AsyncSequence & Sendable>(
        _ key: ObjectKey, contentType: String, metadata: [String: String], limit: Int64?, body: Body
    ) async throws -> ObjectInfo where Body.Element == [UInt8] {
        try checkNotReserved(key)
        let temporary = "\(root)/.tmp/\(RandomID.uuidString())"
        let descriptor = try await blocking { try Self.check(open(temporary, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o644)) }
        var digest = Insecure.MD5()
        var size: Int64 = 0
        var renamed = false
        var isOpen = true
        do {
            defer {
                if isOpen { close(descriptor) }
                if !renamed { unlink(temporary) }
            }
            for try await chunk in body {
                size += Int64(chunk.count)
                if let limit, size > limit { throw ObjectStoreError.tooLarge(limit: limit) }
                digest.update(data: chunk)
                try await blocking { try Self.writeAll(descriptor, chunk) }
            }
            let inode = try await blocking { () throws -> UInt64 in
                _ = try Self.check(fsync(descriptor))
                var status = stat()
                _ = try Self.check(fstat(descriptor, &status))
                return UInt64(status.st_ino)
            }
            close(descriptor)
            isOpen = false
            // Whole milliseconds, and the Date made from the very number stored, so a read gives the same Date.
            let modified = (Date().timeIntervalSince1970 * 1000).rounded() / 1000
            let info = ObjectInfo(
                key: key, size: size, contentType: contentType,
                etag: "\"" + Self.hex(digest.finalize()) + "\"",
                lastModified: Date(timeIntervalSince1970: modified), metadata: metadata)
            let meta = try JSONEncoder().encode(Meta(info: info, modified: modified, inode: inode))
            let (path, metaPath) = (path(of: key), self.metaPath(of: key))
            try await blocking {
                let files = FileManager.default
                try files.createDirectory(
                    atPath: (path as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
                try files.createDirectory(
                    atPath: (metaPath as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
                try Self.check(rename(temporary, path))
            }
            renamed = true
            try await blocking {
                try Self.writeAtomically(meta, to: metaPath, temporary: temporary + ".meta")
                try Self.syncDirectory((path as NSString).deletingLastPathComponent)
            }
            return info
        } catch let error as ObjectStoreError {
            throw error
        } catch {
            throw ObjectStoreError.unavailable("put \(key): \(Self.describe(error))")
        }
    }

    public func get(_ key: ObjectKey) async throws -> (info: ObjectInfo, bytes: ObjectBytes)? {
        try await get(key, from: 0)
    }

    /// The object from byte `offset`: the file is opened and the descriptor moved there (`lseek`), so the bytes
    /// before it are never read.
    public func get(_ key: ObjectKey, from offset: Int64) async throws -> (info: ObjectInfo, bytes: ObjectBytes)? {
        guard offset >= 0 else { throw ObjectStoreError.invalidRange("offset \(offset) is negative") }
        guard Self.isReserved(key) == false else { return nil }
        let path = path(of: key)
        let descriptor = try await blocking { () throws -> Int32? in
            let descriptor = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW)
            if descriptor < 0, errno == ENOENT || errno == ENOTDIR { return nil }
            return try Self.check(descriptor)
        }
        guard let descriptor else { return nil }
        let info: ObjectInfo
        do {
            info = try await blocking { try self.info(of: key, descriptor: descriptor) }
            // At most to the end (the kernel refuses offsets past the largest file size): reads there return nothing.
            let start = min(offset, info.size)
            if start > 0 { _ = try await blocking { try Self.check(lseek(descriptor, off_t(start), SEEK_SET)) } }
        } catch {
            close(descriptor)
            throw ObjectStoreError.unavailable("get \(key): \(Self.describe(error))")
        }
        let stream = ObjectBytes.producing(
            { yield in
                defer { close(descriptor) }
                while !Task.isCancelled {
                    let chunk = try await blocking { try Self.readChunk(descriptor, upTo: 65_536) }
                    if chunk.isEmpty { break }
                    yield(chunk)
                }
            },
            describe: { ObjectStoreError.unavailable("get \(key): \(Self.describe($0))") })
        return (info, stream)
    }

    public func head(_ key: ObjectKey) async throws -> ObjectInfo? {
        guard Self.isReserved(key) == false else { return nil }
        let path = path(of: key)
        do {
            return try await blocking { () throws -> ObjectInfo? in
                let descriptor = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW)
                if descriptor < 0, errno == ENOENT || errno == ENOTDIR { return nil }
                defer { if descriptor >= 0 { close(descriptor) } }
                return try info(of: key, descriptor: try Self.check(descriptor))
            }
        } catch {
            throw ObjectStoreError.unavailable("head \(key): \(Self.describe(error))")
        }
    }

    public func list(prefix: String, after token: String?, limit: Int) async throws -> ObjectListing {
        var after: String?
        if let token {
            guard let data = Data(base64Encoded: Self.base64(fromURLSafe: token)),
                let key = String(data: data, encoding: .utf8), ObjectKey(rawValue: key) != nil
            else { throw ObjectStoreError.invalidToken }
            after = key
        }
        let limit = min(max(limit, 1), 1_000)
        let root = self.root
        let start = after
        let keys = try await blocking { () throws -> [String] in
            // Walk only the deepest directory the prefix names.
            let directory = prefix.contains("/") ? String(prefix[..<prefix.lastIndex(of: "/")!]) : ""
            guard ObjectKey.validate(directory) == nil || directory.isEmpty else { return [] }
            let base = directory.isEmpty ? root : "\(root)/\(directory)"
            guard let walker = FileManager.default.enumerator(atPath: base) else { return [] }
            var keys: [String] = []
            while let relative = walker.nextObject() as? String {
                let key = directory.isEmpty ? relative : "\(directory)/\(relative)"
                if directory.isEmpty, relative == ".meta" || relative == ".tmp" {
                    walker.skipDescendants()
                    continue
                }
                guard key.hasPrefix(prefix), walker.fileAttributes?[.type] as? FileAttributeType == .typeRegular else {
                    continue
                }
                if let start, !start.utf8.lexicographicallyPrecedes(key.utf8) { continue }
                keys.append(key)
            }
            return keys.sorted { $0.utf8.lexicographicallyPrecedes($1.utf8) }
        }
        var objects: [ObjectInfo] = []
        for key in keys.prefix(limit) {
            guard let objectKey = ObjectKey(rawValue: key), let info = try await head(objectKey) else { continue }
            objects.append(info)
        }
        let next = keys.count > limit ? keys[limit - 1] : nil
        return ObjectListing(objects: objects, nextToken: next.map { Self.urlSafeBase64(Data($0.utf8)) })
    }

    public func delete(_ key: ObjectKey) async throws {
        try checkNotReserved(key)
        let (path, metaPath) = (path(of: key), self.metaPath(of: key))
        do {
            try await blocking {
                for file in [path, metaPath] where unlink(file) != 0 && errno != ENOENT && errno != ENOTDIR {
                    throw SystemError(code: errno)
                }
            }
        } catch {
            throw ObjectStoreError.unavailable("delete \(key): \(Self.describe(error))")
        }
    }

    public func presign(_ method: PresignedRequest.Method, _ key: ObjectKey, contentType: String?, expiresIn: Duration)
        throws -> PresignedRequest
    {
        try checkNotReserved(key)
        guard expiresIn >= .seconds(1), expiresIn <= Self.maxPresignedLifetime else {
            throw ObjectStoreError.invalidSignature("a presigned URL lives from 1 second to 7 days")
        }
        let expires = Int64(Date().timeIntervalSince1970) + expiresIn.components.seconds
        let signature = sign(method, key, expires: expires, contentType: method == .put ? contentType ?? "" : "")
        return PresignedRequest(
            method: method, url: "\(url(of: key))?expires=\(expires)&signature=\(signature)",
            headers: method == .put && contentType != nil ? ["Content-Type": contentType!] : [:],
            expiresAt: Date(timeIntervalSince1970: TimeInterval(expires)))
    }

    /// `<publicURL>/objects/<key>`, each segment percent-encoded: where Meridian serves the object (unsigned, for the
    /// prefixes it serves publicly).
    public func url(of key: ObjectKey) -> String {
        let path = key.rawValue.split(separator: "/").map {
            $0.addingPercentEncoding(withAllowedCharacters: Self.segmentCharacters) ?? String($0)
        }.joined(separator: "/")
        var base = configuration.publicURL
        while base.hasSuffix("/") { base.removeLast() }
        return "\(base)/objects/\(path)"
    }

    /// Checks a presigned request to this store: throws unless `signature` is this store's for `method` on `key`
    /// until `expires` (Unix seconds) and, for a PUT, `contentType`, and `expires` is not past.
    public func verify(
        _ method: PresignedRequest.Method, _ key: ObjectKey, expires: Int64, signature: String, contentType: String?,
        now: Date = Date()
    ) throws(ObjectStoreError) {
        guard expires >= Int64(now.timeIntervalSince1970) else { throw .invalidSignature("it expired") }
        let expected = sign(method, key, expires: expires, contentType: method == .put ? contentType ?? "" : "")
        // Constant time: the comparison must not tell how much of a guess was right.
        guard signature.utf8.count == expected.utf8.count,
            zip(signature.utf8, expected.utf8).reduce(0, { $0 | ($1.0 ^ $1.1) }) == 0
        else { throw .invalidSignature("the signature does not match") }
    }

    // MARK: Paths and metadata

    /// What `.meta/<key>.json` holds.
    struct Meta: Codable {
        var contentType: String
        var metadata: [String: String]
        var etag: String
        var size: Int64
        var modified: Double
        /// The inode of the data file this describes: after a crash between the renames it no longer matches.
        var inode: UInt64

        init(info: ObjectInfo, modified: Double, inode: UInt64) {
            contentType = info.contentType
            metadata = info.metadata
            etag = info.etag
            size = info.size
            self.modified = modified
            self.inode = inode
        }
    }

    private func path(of key: ObjectKey) -> String { "\(root)/\(key.rawValue)" }
    private func metaPath(of key: ObjectKey) -> String { "\(root)/.meta/\(key.rawValue).json" }

    private static func isReserved(_ key: ObjectKey) -> Bool {
        let first = key.rawValue.prefix { $0 != "/" }
        return first == ".meta" || first == ".tmp"
    }

    private func checkNotReserved(_ key: ObjectKey) throws(ObjectStoreError) {
        if Self.isReserved(key) { throw .invalidKey(key.rawValue, "starts with a segment this store keeps for itself") }
    }

    /// The information of the open data file `descriptor`: from its metadata when that describes this very file.
    private func info(of key: ObjectKey, descriptor: Int32) throws -> ObjectInfo {
        var status = stat()
        _ = try Self.check(fstat(descriptor, &status))
        let size = Int64(status.st_size)
        let modified = Date(timeIntervalSince1970: TimeInterval(status.st_mtim.tv_sec))
        if let data = FileManager.default.contents(atPath: metaPath(of: key)),
            let meta = try? JSONDecoder().decode(Meta.self, from: data), meta.inode == UInt64(status.st_ino),
            meta.size == size
        {
            return ObjectInfo(
                key: key, size: size, contentType: meta.contentType, etag: meta.etag,
                lastModified: Date(timeIntervalSince1970: meta.modified), metadata: meta.metadata)
        }
        return ObjectInfo(
            key: key, size: size, contentType: "application/octet-stream",
            etag: "\"\(status.st_ino)-\(size)-\(status.st_mtim.tv_sec)\"", lastModified: modified)
    }

    private func sign(_ method: PresignedRequest.Method, _ key: ObjectKey, expires: Int64, contentType: String) -> String {
        let message = "\(method.rawValue)\n\(key.rawValue)\n\(expires)\n\(contentType)"
        return Self.hex(HMAC<SHA256>.authenticationCode(for: Data(message.utf8), using: signingKey))
    }

    private static func hex(_ bytes: some Sequence<UInt8>) -> String {
        bytes.map { String(format: "%02x", $0) }.joined()
    }

    /// RFC 3986's unreserved characters: everything else in a key's segment is percent-encoded.
    private static let segmentCharacters = CharacterSet(
        charactersIn: "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-._~")

    // MARK: Files

    private static func loadOrMakeSigningKey(at path: String) throws -> SymmetricKey {
        if let data = FileManager.default.contents(atPath: path), data.count == 32 { return SymmetricKey(data: data) }
        let key = SymmetricKey(size: .bits256)
        let bytes = key.withUnsafeBytes { Data($0) }
        try writeAtomically(bytes, to: path, temporary: path + ".\(RandomID.uuidString())", mode: 0o600)
        return key
    }

    /// Writes `data` to `temporary`, fsyncs it and renames it to `path`.
    private static func writeAtomically(_ data: Data, to path: String, temporary: String, mode: mode_t = 0o644) throws {
        let descriptor = try check(open(temporary, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode))
        do {
            try writeAll(descriptor, Array(data))
            _ = try check(fsync(descriptor))
            close(descriptor)
            _ = try check(rename(temporary, path))
        } catch {
            close(descriptor)
            unlink(temporary)
            throw error
        }
    }

    private static func syncDirectory(_ path: String) throws {
        let descriptor = try check(open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC))
        defer { close(descriptor) }
        _ = try check(fsync(descriptor))
    }

    private static func writeAll(_ descriptor: Int32, _ bytes: [UInt8]) throws {
        var written = 0
        while written < bytes.count {
            let result = bytes.withUnsafeBytes { write(descriptor, $0.baseAddress! + written, bytes.count - written) }
            if result < 0, errno == EINTR { continue }
            written += try check(result)
        }
    }

    private static func readChunk(_ descriptor: Int32, upTo count: Int) throws -> [UInt8] {
        var buffer = [UInt8](repeating: 0, count: count)
        while true {
            let result = buffer.withUnsafeMutableBytes { read(descriptor, $0.baseAddress!, count) }
            if result < 0, errno == EINTR { continue }
            buffer.removeLast(count - (try check(result)))
            return buffer
        }
    }

    private struct SystemError: Error, CustomStringConvertible {
        var code: Int32
        var description: String { String(cString: strerror(code)) }
    }

    @discardableResult
    private static func check<Value: BinaryInteger>(_ result: Value) throws -> Value {
        if result < 0 { throw SystemError(code: errno) }
        return result
    }

    private static func describe(_ error: any Error) -> String {
        if let error = error as? SystemError { return error.description }
        if let error = error as? CocoaError, let underlying = error.underlying as? POSIXError {
            return String(cString: strerror(underlying.code.rawValue))
        }
        return "\(error)"
    }

    private static func urlSafeBase64(_ data: Data) -> String {
        data.base64EncodedString().replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_")
            .replacingOccurrences(of: "=", with: "")
    }

    private static func base64(fromURLSafe text: String) -> String {
        var base64 = text.replacingOccurrences(of: "-", with: "+").replacingOccurrences(of: "_", with: "/")
        while base64.count % 4 != 0 { base64 += "=" }
        return base64
    }
}

/// Runs blocking file system calls on NIO's thread pool.
private func blocking<Result: Sendable>(_ body: @escaping @Sendable () throws -> Result) async throws -> Result {
    try await NIOThreadPool.singleton.runIfActive(body)
}
