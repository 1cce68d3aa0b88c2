import AsyncHTTPClient
import Foundation
import MeridianS3
import NIOCore
import NIOHTTP1

/// A moto server (ENVIRONMENT.md) the tests start and stop, serving S3, STS, IAM and DynamoDB on one port: with
/// `checkSignatures`, an IAM user made through its first three unauthenticated calls signs every later request, and
/// moto checks each Signature V4.
public final class Moto: Sendable {
    public let process: ChildProcess
    public let endpoint: String
    public let credentials: S3Credentials
    public let directory: String

    public init(checkSignatures: Bool) async throws {
        directory = NSTemporaryDirectory() + "meridian-moto-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let port = try freePort()
        var environment = ProcessInfo.processInfo.environment
        // Parts of 5 MiB at least, unless told otherwise: the tests use small parts.
        environment["S3_UPLOAD_PART_MIN_SIZE"] = "1024"
        if checkSignatures { environment["INITIAL_NO_AUTH_ACTION_COUNT"] = "3" }
        process = try ChildProcess(
            "moto_server", ["-H", "127.0.0.1", "-p", String(port)], environment: environment,
            outputPath: directory + "/moto.log")
        endpoint = "http://127.0.0.1:\(port)"
        var ready = false
        for _ in 0..<100 {
            if (try? await HTTPClient.shared.execute(HTTPClientRequest(url: endpoint + "/moto-api/"), timeout: .seconds(1)))?
                .status == .ok
            {
                ready = true
                break
            }
            try await Task.sleep(for: .milliseconds(100))
        }
        guard ready else {
            _ = await process.stop()
            throw ChildProcessError("moto_server did not start: \(process.output)")
        }
        guard checkSignatures else {
            credentials = S3Credentials(accessKeyID: "testing", secretAccessKey: "testing")
            return
        }
        // The three calls moto takes without checking: a user, its key, a policy allowing everything.
        let anyone = S3Credentials(accessKeyID: "AKIAANYONE", secretAccessKey: "anything")
        _ = try await Self.iam(endpoint, anyone, ["Action": "CreateUser", "UserName": "meridian"])
        let key = try await Self.iam(endpoint, anyone, ["Action": "CreateAccessKey", "UserName": "meridian"])
        _ = try await Self.iam(
            endpoint, anyone,
            [
                "Action": "PutUserPolicy", "UserName": "meridian", "PolicyName": "all",
                "PolicyDocument": #"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*","Resource":"*"}]}"#,
            ])
        guard let id = Self.element("AccessKeyId", in: key), let secret = Self.element("SecretAccessKey", in: key) else {
            _ = await process.stop()
            throw ChildProcessError("moto's CreateAccessKey answer has no key: \(key)")
        }
        credentials = S3Credentials(accessKeyID: id, secretAccessKey: secret)
    }

    /// An IAM query call, signed as IAM expects.
    static func iam(_ endpoint: String, _ credentials: S3Credentials, _ parameters: [String: String]) async throws
        -> String
    {
        var items = parameters
        items["Version"] = "2010-05-08"
        let body = SignatureV4.canonicalQuery(items.map { ($0.key, $0.value) })
        let host = String(endpoint.dropFirst("http://".count))
        var request = HTTPClientRequest(url: endpoint + "/")
        request.method = .POST
        request.headers.add(name: "content-type", value: "application/x-www-form-urlencoded")
        let signer = SignatureV4(credentials: credentials, region: "us-east-1", service: "iam")
        let hash = SignatureV4.hex(SignatureV4.sha256(Array(body.utf8)))
        for (name, value) in signer.authorization(
            method: "POST", path: "/", query: [],
            headers: ["host": host, "content-type": "application/x-www-form-urlencoded"], payloadHash: hash)
        {
            request.headers.add(name: name, value: value)
        }
        request.body = .bytes(ByteBuffer(string: body))
        let response = try await HTTPClient.shared.execute(request, timeout: .seconds(10))
        let text = try await response.body.collect(upTo: 1_048_576)
        guard response.status == .ok else {
            throw ChildProcessError("IAM \(parameters["Action"] ?? ""): \(response.status) \(String(buffer: text))")
        }
        return String(buffer: text)
    }

    /// The text of the first `<name>` element of an XML answer.
    static func element(_ name: String, in xml: String) -> String? {
        guard let open = xml.range(of: "<\(name)>"),
            let close = xml.range(of: "</\(name)>", range: open.upperBound..<xml.endIndex)
        else { return nil }
        return String(xml[open.upperBound..<close.lowerBound])
    }

    /// Makes `bucket` (a signed `PUT /bucket`).
    public func createBucket(_ bucket: String) async throws {
        let host = String(endpoint.dropFirst("http://".count))
        var request = HTTPClientRequest(url: "\(endpoint)/\(bucket)")
        request.method = .PUT
        let signer = SignatureV4(credentials: credentials, region: "us-east-1")
        for (name, value) in signer.authorization(
            method: "PUT", path: "/\(bucket)", query: [], headers: ["host": host], payloadHash: SignatureV4.unsignedPayload)
        {
            request.headers.add(name: name, value: value)
        }
        let response = try await HTTPClient.shared.execute(request, timeout: .seconds(10))
        _ = try await response.body.collect(upTo: 65_536)
        guard response.status == .ok else { throw ChildProcessError("create bucket: \(response.status)") }
    }

    public func store(bucket: String, partSize: Int = 8 * 1_048_576, credentials: S3Credentials? = nil) throws
        -> S3ObjectStore
    {
        var configuration = S3ObjectStore.Configuration(bucket: bucket)
        configuration.endpoint = endpoint
        configuration.pathStyle = true
        configuration.partSize = partSize
        return try S3ObjectStore(configuration: configuration, credentials: credentials ?? self.credentials)
    }

    public func stop() async {
        _ = await process.stop()
        try? FileManager.default.removeItem(atPath: directory)
    }
}

/// Runs `body` with a moto server of its own, stopped afterwards whatever happens.
public func withMoto(checkSignatures: Bool, _ body: (Moto) async throws -> Void) async throws {
    let moto = try await Moto(checkSignatures: checkSignatures)
    do {
        try await body(moto)
    } catch {
        await moto.stop()
        throw error
    }
    await moto.stop()
}
