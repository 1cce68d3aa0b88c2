import Configuration
import Foundation
import Logging
import MeridianBench
import MeridianContracts
import MeridianCore
import MeridianEventLog
import MeridianFileObjects
import MeridianImages
import MeridianS3
import ServiceLifecycle
import Testing

@testable import MeridianApp

@Suite struct ImagesRoleTests {
    func settings(_ environment: [String: String]) async throws -> MeridianSettings {
        try MeridianSettings(reader: try await MeridianSettings.reader(environment: environment), environment: environment)
    }

    @Test func objectURLs() async throws {
        let files = try await settings(["MERIDIAN_DATA_DIR": "/data"])
        guard case .files(let local) = files.objects.backend else {
            Issue.record("the default is local files")
            return
        }
        #expect(local.root == "/data/objects")
        #expect(local.publicURL == "http://127.0.0.1:8080")
        // Listening on every address, the URLs name this machine's loopback until objects.publicUrl says otherwise.
        let everywhere = try await settings(["MERIDIAN_HTTP_HOST": "0.0.0.0", "MERIDIAN_HTTP_PORT": "9000"])
        guard case .files(let listening) = everywhere.objects.backend else {
            Issue.record("the default is local files")
            return
        }
        #expect(listening.publicURL == "http://127.0.0.1:9000")

        let s3 = try await settings([
            "MERIDIAN_OBJECTS_URL": "s3://shop?region=eu-west-1&endpoint=http://minio:9000&pathStyle=true",
            "AWS_ACCESS_KEY_ID": "AKIA1", "AWS_SECRET_ACCESS_KEY": "secret", "AWS_SESSION_TOKEN": "token",
        ])
        guard case .s3(let bucket, .keys(let keys)) = s3.objects.backend else {
            Issue.record("an s3 URL with AWS keys")
            return
        }
        #expect(bucket.bucket == "shop" && bucket.region == "eu-west-1" && bucket.pathStyle)
        #expect(bucket.endpoint == "http://minio:9000")
        #expect(keys == S3Credentials(accessKeyID: "AKIA1", secretAccessKey: "secret", sessionToken: "token"))

        let irsa = try await settings([
            "MERIDIAN_OBJECTS_URL": "s3://shop", "AWS_REGION": "eu-central-1", "AWS_ROLE_ARN": "arn:aws:iam::1:role/r",
            "AWS_WEB_IDENTITY_TOKEN_FILE": "/var/run/secrets/token",
        ])
        guard case .s3(let regional, .webIdentity(let identity)) = irsa.objects.backend else {
            Issue.record("web identity from EKS's variables")
            return
        }
        #expect(regional.region == "eu-central-1")
        #expect(identity.endpoint == "https://sts.eu-central-1.amazonaws.com")

        // A process that runs neither the images nor the products role needs no credentials for the bucket.
        let gateway = try await settings(["MERIDIAN_OBJECTS_URL": "s3://shop", "MERIDIAN_ROLES": "gateway,users"])
        guard case .s3(_, nil) = gateway.objects.backend else {
            Issue.record("no credentials where the store is not used")
            return
        }
    }

    @Test(arguments: [
        (["MERIDIAN_OBJECTS_URL": "ftp://x"], "objects.url"),
        (
            ["MERIDIAN_OBJECTS_URL": "s3://shop?colour=red", "AWS_ACCESS_KEY_ID": "a", "AWS_SECRET_ACCESS_KEY": "b"],
            "unknown option colour"
        ),
        (
            ["MERIDIAN_OBJECTS_URL": "s3://shop?pathStyle=maybe", "AWS_ACCESS_KEY_ID": "a", "AWS_SECRET_ACCESS_KEY": "b"],
            "pathStyle=maybe"
        ),
        (["MERIDIAN_OBJECTS_URL": "s3://shop"], "needs credentials"),
        (["MERIDIAN_OBJECTS_URL": "s3://shop", "MERIDIAN_OBJECTS_ACCESS_KEY_ID": "a"], "go together"),
        (["MERIDIAN_OBJECTS_URL": "file://"], "needs a directory"),
        (["MERIDIAN_IMAGES_MAX_PIXELS": "-1"], "images.maxPixels"),
    ])
    func badObjectSettingsNameTheirKey(_ environment: [String: String], _ expected: String) async throws {
        do {
            _ = try await settings(environment)
            Issue.record("\(environment) must be refused")
        } catch {
            #expect("\(error)".contains(expected), "\(error)")
        }
    }

    /// The images role as `serve` assembles it: an upload's event on the embedded log becomes three variants on disk
    /// and three `product-images.processed` events.
    @Test func theRoleTurnsAnUploadIntoVariants() async throws {
        let directory = NSTemporaryDirectory() + "meridian-images-role-\(UUID().uuidString)"
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let settings = try await settings(["MERIDIAN_DATA_DIR": directory, "MERIDIAN_ROLES": "images"])
        let objects = try settings.objects.makeStore()
        let log = try await EmbeddedEventLog.open(
            configuration: EmbeddedEventLog.Configuration(path: directory + "/eventlog.sqlite"), logger: Logger(label: "test"))
        let running = Task { try await log.run() }
        let photo = try #require(
            ImageFunctionSample.jpeg(width: 1_000, height: 700), "libvips makes a sample image")
        _ = try await objects.put(ObjectKey(rawValue: "uploads/products/p9/u9.jpg")!, contentType: "image/jpeg", bytes: photo)
        let upload = ProductImageUploaded(
            productID: "p9", uploadID: "u9", key: "uploads/products/p9/u9.jpg", contentType: "image/jpeg",
            sizeBytes: Int64(photo.count), uploadedAt: "2026-11-30T00:00:00.000Z")
        _ = await log.append([try upload.record(topics: settings.topics)])

        let role = try buildImages(settings: settings, eventLog: log, objects: objects, logger: Logger(label: "test"))
        let worker = Task { try await role.run() }
        let consumer = try await log.makeConsumer(
            ConsumerOptions(group: nil, topics: [settings.topics.productImagesProcessed], fromBeginning: true))
        var records: [ConsumedRecord] = []
        let deadline = ContinuousClock.now.advanced(by: .seconds(30))
        while records.count < 3, ContinuousClock.now < deadline {
            records += try await consumer.poll(maxRecords: 10, timeout: .milliseconds(200))
        }
        await consumer.close()
        worker.cancel()
        _ = await worker.result
        #expect(records.compactMap { CloudEvent(record: $0)?.id } == ["u9:large", "u9:medium", "u9:thumbnail"])
        for name in ["large/p9/u9_800x800", "medium/p9/u9_400x400", "thumbnail/p9/u9_150x150"] {
            #expect(FileManager.default.fileExists(atPath: "\(directory)/objects/processed/\(name).jpg"), "\(name)")
        }
        await log.close()
        running.cancel()
    }
}

/// A JPEG made by libvips through the image function's own module.
enum ImageFunctionSample {
    static func jpeg(width: Int, height: Int) -> [UInt8]? {
        let bytes = ImageLoad.sampleJPEG(width: width, height: height)
        return bytes.isEmpty ? nil : bytes
    }
}
