import AsyncHTTPClient
import Foundation
import MeridianCore
import NIOCore
import NIOHTTP1
import Synchronization

/// Where an S3 store's credentials come from: asked before each request.
public protocol S3CredentialSource: Sendable {
    /// Credentials valid now.
    func current() async throws -> S3Credentials
}

/// Keys that do not change: `objects.accessKeyId`/`objects.secretAccessKey`, or `AWS_ACCESS_KEY_ID`,
/// `AWS_SECRET_ACCESS_KEY` and `AWS_SESSION_TOKEN`.
public struct StaticCredentials: S3CredentialSource {
    public let credentials: S3Credentials

    public init(_ credentials: S3Credentials) {
        self.credentials = credentials
    }

    public func current() async throws -> S3Credentials { credentials }
}

/// AWS web identity, as EKS gives a pod through IRSA: the token in `AWS_WEB_IDENTITY_TOKEN_FILE` is exchanged for
/// temporary credentials of `AWS_ROLE_ARN` with STS `AssumeRoleWithWebIdentity` (an unsigned call), and again
/// before they expire (the token file is read each time: the kubelet rotates it).
public final class WebIdentityCredentials: S3CredentialSource {
    public struct Configuration: Sendable {
        public var roleARN: String
        public var tokenFile: String
        public var sessionName = "meridian"
        /// STS's URL; default `https://sts.<region>.amazonaws.com` (`AWS_ENDPOINT_URL_STS` overrides it).
        public var endpoint: String
        /// Renewed this long before they expire. Default 5 minutes.
        public var refreshBefore: Duration = .seconds(300)

        public init(roleARN: String, tokenFile: String, region: String, endpoint: String? = nil) {
            self.roleARN = roleARN
            self.tokenFile = tokenFile
            self.endpoint = endpoint ?? "https://sts.\(region).amazonaws.com"
        }

        /// From `AWS_ROLE_ARN`, `AWS_WEB_IDENTITY_TOKEN_FILE`, `AWS_ROLE_SESSION_NAME` and `AWS_ENDPOINT_URL_STS`;
        /// nil unless the first two are set.
        public init?(environment: [String: String], region: String) {
            guard let role = environment["AWS_ROLE_ARN"], !role.isEmpty, let file = environment["AWS_WEB_IDENTITY_TOKEN_FILE"],
                !file.isEmpty
            else { return nil }
            self.init(roleARN: role, tokenFile: file, region: region, endpoint: environment["AWS_ENDPOINT_URL_STS"])
            if let name = environment["AWS_ROLE_SESSION_NAME"], !name.isEmpty { sessionName = name }
        }
    }

    private struct Held {
        var credentials: S3Credentials
        var expiration: Date
    }

    public let configuration: Configuration
    private let http: HTTPClient
    private let held = Mutex<Held?>(nil)

    public init(configuration: Configuration, http: HTTPClient = .shared) {
        self.configuration = configuration
        self.http = http
    }

    public func current() async throws -> S3Credentials {
        let now = Date()
        if let held = held.withLock({ $0 }),
            !Self.needsRefresh(expiration: held.expiration, now: now, margin: configuration.refreshBefore)
        {
            return held.credentials
        }
        // Concurrent callers may each ask STS once when the credentials run out: harmless, and simpler than a queue.
        let fresh = try await assumeRole()
        held.withLock { $0 = fresh }
        return fresh.credentials
    }

    /// Whether credentials that expire at `expiration` must be renewed at `now`.
    static func needsRefresh(expiration: Date, now: Date, margin: Duration) -> Bool {
        expiration.timeIntervalSince(now) <= Double(margin.components.seconds)
    }

    private func assumeRole() async throws -> Held {
        let token: String
        do {
            token = try String(contentsOfFile: configuration.tokenFile, encoding: .utf8)
                .trimmingCharacters(in: .whitespacesAndNewlines)
        } catch {
            throw ObjectStoreError.unavailable(
                "cannot read the web identity token \(configuration.tokenFile) (AWS_WEB_IDENTITY_TOKEN_FILE): \(error)")
        }
        let parameters = [
            ("Action", "AssumeRoleWithWebIdentity"), ("Version", "2011-06-15"), ("RoleArn", configuration.roleARN),
            ("RoleSessionName", configuration.sessionName), ("WebIdentityToken", token),
        ]
        var request = HTTPClientRequest(
            url: configuration.endpoint.hasSuffix("/") ? configuration.endpoint : configuration.endpoint + "/")
        request.method = .POST
        request.headers.add(name: "content-type", value: "application/x-www-form-urlencoded")
        request.body = .bytes(ByteBuffer(string: SignatureV4.canonicalQuery(parameters)))
        let response: HTTPClientResponse
        do {
            response = try await http.execute(request, timeout: .seconds(30))
        } catch {
            throw ObjectStoreError.unavailable("cannot reach STS at \(configuration.endpoint): \(error)")
        }
        let body = try await response.body.collect(upTo: 1_048_576)
        let document = try? S3XML.parseNow(body)
        guard response.status == .ok, let document, let id = document.text(of: "AccessKeyId"),
            let secret = document.text(of: "SecretAccessKey")
        else {
            let code = document?.text(of: "Code") ?? "HTTP \(response.status.code)"
            throw ObjectStoreError.unavailable(
                "STS AssumeRoleWithWebIdentity for \(configuration.roleARN): \(code): \(document?.text(of: "Message") ?? "")")
        }
        let expiration = document.text(of: "Expiration").flatMap(Timestamp.parse) ?? Date().addingTimeInterval(900)
        return Held(
            credentials: S3Credentials(accessKeyID: id, secretAccessKey: secret, sessionToken: document.text(of: "SessionToken")),
            expiration: expiration)
    }
}
