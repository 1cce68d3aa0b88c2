import AsyncHTTPClient
import Foundation
import MeridianTestSupport
import NIOCore
import NIOHTTP1
import Testing

@testable import MeridianS3

/// A moto server (ENVIRONMENT.md) the tests start and stop, serving S3, STS, IAM and DynamoDB on one port: with
/// `checkSignatures`, an IAM user made through its first three unauthenticated calls signs every later request, and
/// moto checks each Signature V4.
final class Moto: Sendable {
    let process: ChildProcess
    let endpoint: String
    let credentials: S3Credentials
    let directory: String

    init(checkSignatures: Bool) async throws {
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
        credentials = S3Credentials(
            accessKeyID: try #require(key.text(of: "AccessKeyId")),
            secretAccessKey: try #require(key.text(of: "SecretAccessKey")))
    }

    /// An IAM query call, signed as IAM expects.
    static func iam(_ endpoint: String, _ credentials: S3Credentials, _ parameters: [String: String]) async throws
        -> S3XML
    {
        var items = parameters
        items["Version"] = "2010-05-08"
        let body = SignatureV4.canonicalQuery(items.map { ($0.key, $0.value) })
        let host = String(endpoint.dropFirst("http://".count))
        var request = HTTPClientRequest(url: endpoint + "/")
        request.method = .POST
        request.headers.add(name: "content-type", value: "application/x-www-form-urlencoded")
        let signer = SignatureV4(credentials: credentials, region: "us-east-1", service: "iam")
        let hash = SignatureV4.hex(SHA256Hash.of(Array(body.utf8)))
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
        return try S3XML.parse(text)
    }

    /// Makes `bucket` (a signed `PUT /bucket`).
    func createBucket(_ bucket: String) async throws {
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

    func store(bucket: String, partSize: Int = 8 * 1_048_576, credentials: S3Credentials? = nil) throws -> S3ObjectStore {
        var configuration = S3ObjectStore.Configuration(bucket: bucket)
        configuration.endpoint = endpoint
        configuration.pathStyle = true
        configuration.partSize = partSize
        return try S3ObjectStore(configuration: configuration, credentials: credentials ?? self.credentials)
    }

    func stop() async {
        _ = await process.stop()
        try? FileManager.default.removeItem(atPath: directory)
    }
}

/// Runs `body` with a moto server of its own, stopped afterwards whatever happens.
func withMoto(checkSignatures: Bool, _ body: (Moto) async throws -> Void) async throws {
    let moto = try await Moto(checkSignatures: checkSignatures)
    do {
        try await body(moto)
    } catch {
        await moto.stop()
        throw error
    }
    await moto.stop()
}

/// SHA-256 through the signer's own module (swift-crypto), for the IAM bodies.
enum SHA256Hash {
    static func of(_ bytes: [UInt8]) -> [UInt8] { SignatureV4.sha256(bytes) }
}
