import AsyncHTTPClient
import Foundation
import MeridianCore
import MeridianTestSupport
import NIOCore
import NIOHTTP1
import Testing

@testable import MeridianS3

func key(_ text: String) -> ObjectKey { ObjectKey(rawValue: text)! }

func body(_ parts: [[UInt8]]) -> AsyncStream<[UInt8]> {
    let (stream, continuation) = AsyncStream<[UInt8]>.makeStream()
    for part in parts { continuation.yield(part) }
    continuation.finish()
    return stream
}

func readAll(_ stream: ObjectBytes) async throws -> [UInt8] {
    var bytes: [UInt8] = []
    for try await chunk in stream { bytes += chunk }
    return bytes
}

/// The S3 adapter against moto with Signature V4 checked on every request.
///
/// moto checks a signature against the URL as it decoded it, so in the signature-checked test keys and prefixes
/// use only characters that need no percent-encoding (AWS itself encodes before it checks: the encoding is tested
/// against AWS's published examples in ``SignatureV4Tests``, and keys that need it round-trip in
/// ``presignedPutAndGetAndEncodedKeys()``, with moto's checking off).
@Suite(.serialized) struct S3ObjectStoreTests {
    @Test func roundTripListDeleteAndMultipartWithSignaturesChecked() async throws {
        try await withMoto(checkSignatures: true) { moto in
            try await moto.createBucket("shop")
            let store = try moto.store(bucket: "shop", partSize: 64 * 1_024)

            // One part: a plain PUT, with metadata and a key that needs encoding.
            let small = Array("thumbnail bytes".utf8)
            let stored = try await store.put(
                key("uploads/products/p1/u1.jpg"), contentType: "image/jpeg", metadata: ["product-id": "p1"], limit: nil,
                body: body([small]))
            #expect(stored.size == Int64(small.count))
            #expect(stored.contentType == "image/jpeg")
            #expect(stored.metadata["product-id"] == "p1")
            let (info, bytes) = try #require(try await store.get(key("uploads/products/p1/u1.jpg")))
            #expect(info.etag == stored.etag)
            #expect(try await readAll(bytes) == small)

            // Larger than a part: a multipart upload of three parts, read back whole.
            let large = (0..<(150 * 1_024 + 17)).map { UInt8(truncatingIfNeeded: $0 &* 7) }
            let multipart = try await store.put(
                key("datasets/big.csv"), contentType: "text/csv", metadata: [:], limit: nil,
                body: body(stride(from: 0, to: large.count, by: 10_000).map { Array(large[$0..<min($0 + 10_000, large.count)]) }))
            #expect(multipart.size == Int64(large.count))
            #expect(multipart.etag.hasSuffix("-3\""), "a multipart ETag names its parts: \(multipart.etag)")
            #expect(try await store.bytes(of: key("datasets/big.csv")) == large)

            // Over the limit: refused, nothing stored, the multipart upload aborted.
            await #expect(throws: ObjectStoreError.tooLarge(limit: 100_000)) {
                try await store.put(
                    key("datasets/too-big.csv"), contentType: "text/csv", metadata: [:], limit: 100_000,
                    body: body([large]))
            }
            #expect(try await store.head(key("datasets/too-big.csv")) == nil)

            // Listing pages in key order within a prefix.
            for n in 0..<5 { _ = try await store.put(key("list-k\(n)"), contentType: "text/plain", bytes: [UInt8(n)]) }
            var seen: [String] = []
            var token: String?
            repeat {
                let page = try await store.list(prefix: "list-", after: token, limit: 2)
                seen += page.objects.map(\.key.rawValue)
                token = page.nextToken
            } while token != nil && seen.count < 10
            #expect(seen == ["list-k0", "list-k1", "list-k2", "list-k3", "list-k4"])

            try await store.delete(key("list-k0"))
            try await store.delete(key("list-never"))
            #expect(try await store.head(key("list-k0")) == nil)
            #expect(try await store.get(key("list-k0")) == nil)
        }
    }

    /// A read from a byte offset is a signed ranged GET: only the rest of the object comes back (a store that sent
    /// the whole object would fail this, since the adapter never skips bytes itself), `info.size` is the object's.
    @Test func aRangedGetReadsFromTheOffsetWithSignaturesChecked() async throws {
        try await withMoto(checkSignatures: true) { moto in
            try await moto.createBucket("ranges")
            let store = try moto.store(bucket: "ranges")
            let bytes = (0..<300_007).map { UInt8(truncatingIfNeeded: $0 &* 13) }
            let stored = try await store.put(key("datasets/r.csv"), contentType: "text/csv", bytes: bytes)
            for offset in [Int64(0), 1, 65_536, 299_999, 300_006] {
                let (info, stream) = try #require(try await store.get(key("datasets/r.csv"), from: offset))
                #expect(info.size == stored.size)
                #expect(info.etag == stored.etag)
                #expect(try await readAll(stream) == Array(bytes[Int(offset)...]), "from \(offset)")
            }
            // At or past the end: the object's information and no bytes.
            for offset in [Int64(300_007), 10_000_000, .max] {
                let (info, stream) = try #require(try await store.get(key("datasets/r.csv"), from: offset))
                #expect(info.size == 300_007)
                #expect(try await readAll(stream).isEmpty)
            }
            #expect(try await store.get(key("datasets/none.csv"), from: 5) == nil)
            await #expect(throws: ObjectStoreError.invalidRange("offset -1 is negative")) {
                try await store.get(key("datasets/r.csv"), from: -1)
            }
        }
    }

    @Test func aWrongSecretIsAClearError() async throws {
        try await withMoto(checkSignatures: true) { moto in
            try await moto.createBucket("shop")
            let wrong = S3Credentials(accessKeyID: moto.credentials.accessKeyID, secretAccessKey: "not-the-secret")
            let store = try moto.store(bucket: "shop", credentials: wrong)
            do {
                _ = try await store.put(key("a.txt"), contentType: "text/plain", bytes: [1])
                Issue.record("a wrong secret must be refused")
            } catch {
                #expect("\(error)".contains("SignatureDoesNotMatch"), "\(error)")
            }
            let unknown = try moto.store(
                bucket: "shop", credentials: S3Credentials(accessKeyID: "AKIANOBODY", secretAccessKey: "x"))
            do {
                _ = try await unknown.head(key("a.txt"))
                Issue.record("an unknown key must be refused")
            } catch {
                #expect("\(error)".contains("403") || "\(error)".contains("InvalidAccessKeyId"), "\(error)")
            }
        }
    }

    /// EKS's IRSA: a token file and a role, exchanged with STS (moto's) for temporary credentials, which then sign.
    @Test func webIdentityCredentialsFromSTS() async throws {
        try await withMoto(checkSignatures: false) { moto in
            let tokenFile = moto.directory + "/token"
            try await moto.createBucket("shop")
            try "eyJhbGciOi.fake.token\n".write(toFile: tokenFile, atomically: true, encoding: .utf8)
            let environment = [
                "AWS_ROLE_ARN": "arn:aws:iam::123456789012:role/meridian", "AWS_WEB_IDENTITY_TOKEN_FILE": tokenFile,
                "AWS_ENDPOINT_URL_STS": moto.endpoint,
            ]
            let configuration = try #require(WebIdentityCredentials.Configuration(environment: environment, region: "us-east-1"))
            let source = WebIdentityCredentials(configuration: configuration)
            let first = try await source.current()
            #expect(first.sessionToken?.isEmpty == false)
            #expect(try await source.current() == first, "kept until shortly before they expire")
            var storeConfiguration = S3ObjectStore.Configuration(bucket: "shop")
            storeConfiguration.endpoint = moto.endpoint
            storeConfiguration.pathStyle = true
            let store = try S3ObjectStore(configuration: storeConfiguration, credentialSource: source)
            _ = try await store.put(key("irsa.txt"), contentType: "text/plain", bytes: Array("ok".utf8))
            #expect(try await store.bytes(of: key("irsa.txt")) == Array("ok".utf8))

            // A token file that cannot be read names the variable.
            let missing = WebIdentityCredentials(
                configuration: .init(
                    roleARN: "arn:aws:iam::1:role/x", tokenFile: "/nonexistent/token", region: "us-east-1",
                    endpoint: moto.endpoint))
            do {
                _ = try await missing.current()
                Issue.record("an unreadable token must fail")
            } catch {
                #expect("\(error)".contains("AWS_WEB_IDENTITY_TOKEN_FILE"))
            }
        }
    }

    @Test func webIdentityIsRenewedBeforeItExpires() {
        let now = Date()
        #expect(!WebIdentityCredentials.needsRefresh(expiration: now + 3600, now: now, margin: .seconds(300)))
        #expect(WebIdentityCredentials.needsRefresh(expiration: now + 299, now: now, margin: .seconds(300)))
        #expect(WebIdentityCredentials.needsRefresh(expiration: now - 1, now: now, margin: .seconds(300)))
        #expect(WebIdentityCredentials.Configuration(environment: ["AWS_ROLE_ARN": "x"], region: "eu-west-1") == nil)
        #expect(
            WebIdentityCredentials.Configuration(
                environment: ["AWS_ROLE_ARN": "x", "AWS_WEB_IDENTITY_TOKEN_FILE": "/t"], region: "eu-west-1")?.endpoint
                == "https://sts.eu-west-1.amazonaws.com")
    }

    /// Presigned URLs with moto's authentication off (moto fails on them with it on, ENVIRONMENT.md): a client with
    /// no credentials uploads and downloads through them. Keys that need percent-encoding round-trip too.
    @Test func presignedPutAndGetAndEncodedKeys() async throws {
        try await withMoto(checkSignatures: false) { moto in
            try await moto.createBucket("shop")
            let store = try moto.store(bucket: "shop")
            let odd = key("uploads/products/p 1/ü+&=%.jpg")
            _ = try await store.put(odd, contentType: "image/jpeg", bytes: Array("odd".utf8))
            #expect(try await store.bytes(of: odd) == Array("odd".utf8))
            #expect(try await store.list(prefix: "uploads/products/p 1/", after: nil, limit: 10).objects.map(\.key) == [odd])
            let upload = try await store.presign(.put, key("uploads/x y.png"), contentType: "image/png", expiresIn: .seconds(300))
            #expect(upload.url.contains("X-Amz-SignedHeaders=content-type%3Bhost"))
            var put = HTTPClientRequest(url: upload.url)
            put.method = .PUT
            for (name, value) in upload.headers { put.headers.add(name: name, value: value) }
            put.body = .bytes(ByteBuffer(string: "png bytes"))
            let putResponse = try await HTTPClient.shared.execute(put, timeout: .seconds(10))
            _ = try await putResponse.body.collect(upTo: 65_536)
            #expect(putResponse.status == .ok)
            #expect(try await store.head(key("uploads/x y.png"))?.contentType == "image/png")

            let download = try await store.presign(.get, key("uploads/x y.png"), contentType: nil, expiresIn: .seconds(60))
            let response = try await HTTPClient.shared.execute(HTTPClientRequest(url: download.url), timeout: .seconds(10))
            #expect(String(buffer: try await response.body.collect(upTo: 65_536)) == "png bytes")
            await #expect(throws: ObjectStoreError.self) {
                try await store.presign(.get, key("a"), contentType: nil, expiresIn: .seconds(8 * 24 * 3600))
            }
        }
    }
}
