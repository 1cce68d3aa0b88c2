import Foundation
import Logging
import MeridianContracts
import MeridianCore
import MeridianEventLog
import MeridianFileObjects
import Testing

@testable import MeridianImages

/// The image function on the embedded adapters: local files and the embedded event log, in a fresh directory.
final class ImageFunctionFixture {
    let directory = NSTemporaryDirectory() + "meridian-images-\(UUID().uuidString)"
    let objects: FileObjectStore
    let log: EmbeddedEventLog
    let function: ImageFunction
    let topics = Topics()

    init(configuration: ImageProcessor.Configuration = .init()) async throws {
        objects = try FileObjectStore(configuration: .init(root: directory + "/objects"))
        log = try await EmbeddedEventLog.open(
            configuration: EmbeddedEventLog.Configuration(path: directory + "/eventlog.sqlite"), logger: Logger(label: "test"))
        let log = self.log
        Task { try await log.run() }
        function = ImageFunction(
            objects: objects, eventLog: log, topics: topics, processor: try ImageProcessor(configuration: configuration),
            logger: Logger(label: "test"))
    }

    func close() async {
        await log.close()
        try? FileManager.default.removeItem(atPath: directory)
    }

    /// Stores `bytes` as an upload and returns its event.
    func upload(_ bytes: [UInt8], product: String = "p1", upload: String, type: String = "image/jpeg") async throws
        -> ProductImageUploaded
    {
        let key = "uploads/products/\(product)/\(upload).jpg"
        _ = try await objects.put(try ObjectKey(validating: key), contentType: type, bytes: bytes)
        return ProductImageUploaded(
            productID: product, uploadID: upload, key: key, contentType: type, sizeBytes: Int64(bytes.count),
            uploadedAt: "2026-11-30T00:00:00.000Z")
    }

    /// Every record of `topics` so far.
    func records(_ topics: [String], count: Int) async throws -> [ConsumedRecord] {
        let consumer = try await log.makeConsumer(ConsumerOptions(group: nil, topics: topics, fromBeginning: true))
        var records: [ConsumedRecord] = []
        let deadline = ContinuousClock.now.advanced(by: .seconds(10))
        while records.count < count, ContinuousClock.now < deadline {
            records += try await consumer.poll(maxRecords: 100, timeout: .milliseconds(200))
        }
        await consumer.close()
        return records
    }
}

@Suite struct ImageFunctionTests {
    @Test func anUploadBecomesThreeVariantsAndThreeEventsTheSameEachTime() async throws {
        let fixture = try await ImageFunctionFixture()
        let photo = Pictures.jpeg(Pictures.image(width: 1_600, height: 1_000) { x, y in [UInt8(x % 200), UInt8(y % 200), 120] })
        let upload = try await fixture.upload(photo, upload: "u1")

        guard case .processed(let events) = try await fixture.function.handle(upload) else {
            Issue.record("a good photo must be processed")
            await fixture.close()
            return
        }
        #expect(events.map(\.sizeLabel) == ["large", "medium", "thumbnail"])
        #expect(
            events.map(\.processedKey) == [
                "processed/large/p1/u1_800x800.jpg", "processed/medium/p1/u1_400x400.jpg",
                "processed/thumbnail/p1/u1_150x150.jpg",
            ])
        var etags: [String] = []
        for event in events {
            let info = try #require(try await fixture.objects.head(try ObjectKey(validating: event.processedKey)))
            #expect(info.contentType == "image/jpeg")
            #expect(info.size == event.sizeBytes)
            etags.append(info.etag)
        }
        // A storage notification that comes twice: the same keys, the same bytes, events with the same ids.
        _ = try await fixture.function.handle(upload)
        for (event, etag) in zip(events, etags) {
            #expect(try await fixture.objects.head(try ObjectKey(validating: event.processedKey))?.etag == etag)
        }
        let records = try await fixture.records([fixture.topics.productImagesProcessed], count: 6)
        let ids = records.compactMap { CloudEvent(record: $0)?.id }
        #expect(ids == ["u1:large", "u1:medium", "u1:thumbnail", "u1:large", "u1:medium", "u1:thumbnail"])
        #expect(records.allSatisfy { $0.key == Array("p1".utf8) })
        let decoded = try #require(records.first.flatMap { CloudEvent(record: $0) })
        guard case .productImageProcessed(let first)? = try CommerceEvent(decoded) else {
            Issue.record("the record must decode as product-images.processed")
            await fixture.close()
            return
        }
        #expect(first == events[0])
        await fixture.close()
    }

    @Test func webPTwinsBySetting() async throws {
        var configuration = ImageProcessor.Configuration()
        configuration.webp = true
        let fixture = try await ImageFunctionFixture(configuration: configuration)
        let photo = Pictures.jpeg(Pictures.image(width: 900, height: 600) { x, y in [UInt8(x % 250), UInt8(y % 250), 40] })
        guard case .processed(let events) = try await fixture.function.handle(try await fixture.upload(photo, upload: "u2"))
        else {
            Issue.record("a good photo must be processed")
            await fixture.close()
            return
        }
        #expect(
            events.map(\.contentType) == ["image/jpeg", "image/webp", "image/jpeg", "image/webp", "image/jpeg", "image/webp"])
        #expect(events[1].processedKey == "processed/large/p1/u2_800x800.webp")
        let webp = try #require(try await fixture.objects.bytes(of: try ObjectKey(validating: events[1].processedKey)))
        #expect(Array(webp.prefix(4)) == Array("RIFF".utf8) && Array(webp[8..<12]) == Array("WEBP".utf8))
        let ids = try await fixture.records([fixture.topics.productImagesProcessed], count: 6).compactMap {
            CloudEvent(record: $0)?.id
        }
        #expect(ids == ["u2:large", "u2:large.webp", "u2:medium", "u2:medium.webp", "u2:thumbnail", "u2:thumbnail.webp"])
        await fixture.close()
    }

    @Test func aFileThatIsNotAnImageIsRejectedAndDeadLettered() async throws {
        let fixture = try await ImageFunctionFixture()
        let upload = try await fixture.upload(Array("#!/bin/sh\nrm -rf /\n".utf8), upload: "u2")
        let outcome = try await fixture.function.handle(upload)
        #expect(outcome == .rejected(reason: "not an image libvips can read"))
        let missing = ProductImageUploaded(
            productID: "p1", uploadID: "u3", key: "uploads/products/p1/u3.jpg", contentType: "image/jpeg", sizeBytes: 1,
            uploadedAt: "2026-11-30T00:00:00.000Z")
        guard case .rejected(let reason) = try await fixture.function.handle(missing) else {
            Issue.record("a missing upload must be rejected")
            await fixture.close()
            return
        }
        #expect(reason.contains("not in the store"))
        let escaping = ProductImageUploaded(
            productID: "../p1", uploadID: "u4", key: "uploads/../../etc/passwd", contentType: "image/jpeg", sizeBytes: 1,
            uploadedAt: "2026-11-30T00:00:00.000Z")
        guard case .rejected = try await fixture.function.handle(escaping) else {
            Issue.record("a key outside uploads/ must be rejected")
            await fixture.close()
            return
        }
        let rejected = try await fixture.records([fixture.topics.productImagesProcessed], count: 3)
        // Keyed by product: two partitions, so compared without their order.
        #expect(rejected.compactMap { CloudEvent(record: $0)?.id }.sorted() == ["u2:rejected", "u3:rejected", "u4:rejected"])
        let dead = try await fixture.records([fixture.topics.deadLetter], count: 3)
        #expect(dead.count == 3)
        #expect(
            dead.allSatisfy { record in record.headers.contains { $0.name == "dlq-error-class" && $0.stringValue == "validation" }
            })
        #expect(try await fixture.objects.list(prefix: "processed/", after: nil, limit: 10).objects.isEmpty)
        await fixture.close()
    }
}
