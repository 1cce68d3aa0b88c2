import Foundation
import MeridianCore
import MeridianFileObjects
import MeridianImages
import MeridianS3

/// Where objects (product images, CSV files) are kept: `objects.url` and its credentials.
public struct ObjectsSettings: Sendable {
    public enum Backend: Sendable {
        case files(FileObjectStore.Configuration)
        /// Credentials are nil only in a process that does not use the store.
        case s3(S3ObjectStore.Configuration, credentials: S3CredentialChoice?)
    }

    public typealias S3CredentialChoice = AWSCredentialChoice

    public var backend: Backend

    /// Reads `objects.*`; `environment` supplies AWS's standard variables. Missing S3 credentials are an error only
    /// where `storeUsed` (a gateway beside an images pod with its own IAM role needs none).
    init(
        reader config: SettingsReader, dataDirectory: String, publicURL: String, environment: [String: String],
        storeUsed: Bool
    ) throws {
        let url = try config.string(
            "url", default: "file://" + (dataDirectory as NSString).appendingPathComponent("objects"))
        let base = try config.string("publicUrl", default: publicURL)
        guard base.hasPrefix("http://") || base.hasPrefix("https://") else {
            throw config.invalid("publicUrl", "'\(base)' is not an http(s) URL")
        }
        if url.hasPrefix("file://") {
            let path = String(url.dropFirst("file://".count))
            guard !path.isEmpty else {
                throw config.invalid("url", "file:// needs a directory, such as file:///var/lib/meridian/objects")
            }
            var files = FileObjectStore.Configuration(root: path)
            files.publicURL = base
            backend = .files(files)
            return
        }
        guard let components = URLComponents(string: url), components.scheme == "s3", let bucket = components.host,
            !bucket.isEmpty
        else {
            throw config.invalid("url", "use file://DIRECTORY or s3://BUCKET?region=R&endpoint=URL&pathStyle=true|false")
        }
        var s3 = S3ObjectStore.Configuration(bucket: bucket)
        s3.region = environment["AWS_REGION"] ?? s3.region
        for item in components.queryItems ?? [] {
            let value = item.value ?? ""
            switch item.name {
            case "region" where !value.isEmpty: s3.region = value
            case "endpoint" where value.hasPrefix("http://") || value.hasPrefix("https://"): s3.endpoint = value
            case "pathStyle" where value == "true" || value == "false": s3.pathStyle = value == "true"
            case "region", "endpoint", "pathStyle":
                throw config.invalid(
                    "url", "\(item.name)=\(value) is not valid (region=NAME, endpoint=http(s)://…, pathStyle=true|false)")
            default:
                throw config.invalid("url", "unknown option \(item.name): the options are region, endpoint and pathStyle")
            }
        }
        let credentials = try S3CredentialChoice.resolve(config, environment: environment, region: s3.region)
        if credentials == nil, storeUsed {
            throw config.invalid(
                "url",
                "an s3:// store needs credentials: objects.accessKeyId and objects.secretAccessKey, AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or AWS_ROLE_ARN and AWS_WEB_IDENTITY_TOKEN_FILE"
            )
        }
        backend = .s3(s3, credentials: credentials)
    }

    /// Where the objects are, for the start-up line (no secrets).
    public var location: String {
        switch backend {
        case .files(let files): "file://" + files.root
        case .s3(let s3, _): "s3://" + s3.bucket + (s3.endpoint.map { " at " + $0 } ?? "")
        }
    }

    /// The store these settings name.
    func makeStore() throws -> any ObjectStore {
        switch backend {
        case .files(let configuration):
            return try FileObjectStore(configuration: configuration)
        case .s3(_, nil):
            throw ObjectStoreError.unavailable("no credentials for the s3:// store")
        case .s3(let configuration, let credentials?):
            return try S3ObjectStore(configuration: configuration, credentialSource: credentials.source())
        }
    }
}

extension ObjectsSettings {
    /// How long the URL of a variant read from an S3 store stays valid.
    static let variantURLLifetime: Duration = .seconds(3600)

    /// Where clients read a product image's variant from `store`: the URL Meridian serves it at for local files
    /// (``ObjectRoutes``), a presigned GET for S3.
    static func variantURL(in store: any ObjectStore) -> @Sendable (ObjectKey) async throws -> String {
        if let files = store as? FileObjectStore {
            return { files.url(of: $0) }
        }
        return { try await store.presign(.get, $0, contentType: nil, expiresIn: variantURLLifetime).url }
    }
}

/// The settings of the images role (`images.*`).
public struct ImagesSettings: Sendable {
    public var processor: ImageProcessor.Configuration
    /// Images processed at once, each on one libvips thread.
    public var concurrency: Int
    /// The largest upload the API and the presigned PUTs of local files take (`images.maxUploadBytes`).
    public var maxUploadBytes: Int64 { Int64(processor.maxBytes) }

    init(reader config: SettingsReader) throws {
        processor = ImageProcessor.Configuration()
        processor.maxBytes = try config.int("maxUploadBytes", default: processor.maxBytes, in: 1_024...(100 * 1_048_576))
        processor.maxPixels = try config.int("maxPixels", default: processor.maxPixels, in: 10_000...200_000_000)
        processor.webp = try config.bool("webp", default: false)
        concurrency = try config.int(
            "concurrency", default: max(1, ProcessInfo.processInfo.activeProcessorCount), in: 1...64)
    }
}

/// How an AWS adapter (S3, DynamoDB) gets its credentials.
public enum AWSCredentialChoice: Sendable {
    case keys(S3Credentials)
    case webIdentity(WebIdentityCredentials.Configuration)

    /// `<scope>.accessKeyId` and `<scope>.secretAccessKey` when set (both or neither), else AWS's variables
    /// (`AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`, `AWS_SESSION_TOKEN`), else a web identity (`AWS_ROLE_ARN`,
    /// `AWS_WEB_IDENTITY_TOKEN_FILE`: IRSA); nil when there are none.
    static func resolve(_ config: SettingsReader, environment: [String: String], region: String) throws -> Self? {
        let accessKey = try config.string("accessKeyId", default: "", isSecret: true)
        let secret = try config.string("secretAccessKey", default: "", isSecret: true)
        if !accessKey.isEmpty || !secret.isEmpty {
            guard !accessKey.isEmpty, !secret.isEmpty else {
                throw config.invalid(
                    "secretAccessKey",
                    "\(config.fullKey("accessKeyId")) and \(config.fullKey("secretAccessKey")) go together")
            }
            return .keys(S3Credentials(accessKeyID: accessKey, secretAccessKey: secret))
        }
        if let id = environment["AWS_ACCESS_KEY_ID"], !id.isEmpty, let key = environment["AWS_SECRET_ACCESS_KEY"], !key.isEmpty {
            return .keys(S3Credentials(accessKeyID: id, secretAccessKey: key, sessionToken: environment["AWS_SESSION_TOKEN"]))
        }
        return WebIdentityCredentials.Configuration(environment: environment, region: region).map { .webIdentity($0) }
    }

    /// The credentials' source for an adapter.
    func source() -> any S3CredentialSource {
        switch self {
        case .keys(let keys): StaticCredentials(keys)
        case .webIdentity(let identity): WebIdentityCredentials(configuration: identity)
        }
    }
}
