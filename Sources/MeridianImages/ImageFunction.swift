import Foundation
import Logging
import MeridianContracts
import MeridianCore
import NIOPosix

/// The image function's handler, the same whichever runtime calls it (the `images` role's consumer, the AWS
/// Lambda loop, a CloudEvents HTTP endpoint): one upload in, its variants in the object store and one
/// `product-images.processed` event per variant out.
///
/// Idempotent, since storage notifications can come twice and out of order: the same upload always gives the same
/// keys, the same bytes and events with the same ids (`<upload_id>:<size_label>`), which the consumers' inboxes
/// apply once. An upload that is not an acceptable image gives a `product-images.rejected` event (id
/// `<upload_id>:rejected`) and its record goes to `events-dlq` with class `validation`.
public struct ImageFunction: Sendable {
    /// What became of one upload.
    public enum Outcome: Sendable, Hashable {
        case processed([ProductImageProcessed])
        case rejected(reason: String)
    }

    let objects: any ObjectStore
    let eventLog: any EventLog
    let topics: Topics
    let processor: ImageProcessor
    let logger: Logger

    public init(objects: any ObjectStore, eventLog: any EventLog, topics: Topics, processor: ImageProcessor, logger: Logger) {
        self.objects = objects
        self.eventLog = eventLog
        self.topics = topics
        self.processor = processor
        self.logger = logger
    }

    /// The threads libvips runs on, one per core (the images role's concurrency bounds how many are busy).
    static let pool: NIOThreadPool = {
        let pool = NIOThreadPool(numberOfThreads: max(1, ProcessInfo.processInfo.activeProcessorCount))
        pool.start()
        return pool
    }()

    /// The processed key of a variant (CONTRACTS.md; `webp` for the optional WebP twins).
    public static func processedKey(
        label: String, productID: String, uploadID: String, width: Int, height: Int, fileExtension: String = "jpg"
    ) -> String {
        "processed/\(label)/\(productID)/\(uploadID)_\(width)x\(height).\(fileExtension)"
    }

    /// Handles one upload. Throws only for what a retry may mend (the store or the log unreachable); everything
    /// about the file itself is a rejection.
    @discardableResult
    public func handle(_ upload: ProductImageUploaded, now: Date = Date()) async throws -> Outcome {
        guard let key = ObjectKey(rawValue: upload.key), upload.key.hasPrefix("uploads/"),
            ObjectKey.validate(upload.productID) == nil, !upload.productID.contains("/"),
            ObjectKey.validate(upload.uploadID) == nil, !upload.uploadID.contains("/")
        else {
            return try await reject(upload, reason: "the upload's key or ids are not valid object keys", now: now)
        }
        guard let (info, stream) = try await objects.get(key) else {
            return try await reject(upload, reason: "the uploaded object \(upload.key) is not in the store", now: now)
        }
        let limit = processor.configuration.maxBytes
        guard info.size <= Int64(limit) else {
            return try await reject(upload, reason: "the file has \(info.size) bytes, more than the limit of \(limit)", now: now)
        }
        var bytes: [UInt8] = []
        bytes.reserveCapacity(Int(info.size))
        for try await chunk in stream {
            bytes += chunk
            if bytes.count > limit {
                return try await reject(upload, reason: "the file is larger than the limit of \(limit) bytes", now: now)
            }
        }
        let (contentType, processor, file) = (upload.contentType, self.processor, bytes)
        // libvips works synchronously and uses the CPU: on threads of its own, never on the Swift executor nor on NIO's
        // shared blocking pool (the embedded event log's SQLite and bcrypt wait there: an upload must not delay them).
        let result: Result<[ImageVariant], ImageRejection> = try await Self.pool.runIfActive {
            Result { () throws(ImageRejection) in try processor.process(file, contentType: contentType) }
        }
        let variants: [ImageVariant]
        switch result {
        case .failure(let rejection): return try await reject(upload, reason: rejection.reason, now: now)
        case .success(let made): variants = made
        }
        var events: [ProductImageProcessed] = []
        var records: [EventRecord] = []
        for variant in variants {
            // The JPEG every variant has, and the WebP twin when the configuration makes one.
            let encodings =
                [(variant.jpeg, "image/jpeg", "jpg", "")] + (variant.webp.map { [($0, "image/webp", "webp", ".webp")] } ?? [])
            for (bytes, type, fileExtension, suffix) in encodings {
                let name = Self.processedKey(
                    label: variant.label, productID: upload.productID, uploadID: upload.uploadID, width: variant.width,
                    height: variant.height, fileExtension: fileExtension)
                let stored = try await objects.put(
                    try ObjectKey(validating: name), contentType: type,
                    metadata: ["product-id": upload.productID, "upload-id": upload.uploadID], bytes: bytes)
                let event = ProductImageProcessed(
                    productID: upload.productID, originalKey: upload.key, processedKey: name, sizeLabel: variant.label,
                    width: variant.width, height: variant.height, sizeBytes: stored.size, contentType: type,
                    processedAt: Timestamp.format(now))
                events.append(event)
                records.append(
                    try event.record(topics: topics, id: "\(upload.uploadID):\(variant.label)\(suffix)", time: now))
            }
        }
        try await append(records)
        logger.info(
            "product image processed",
            metadata: ["product_id": "\(upload.productID)", "upload_id": "\(upload.uploadID)", "variants": "\(variants.count)"])
        return .processed(events)
    }

    private func reject(_ upload: ProductImageUploaded, reason: String, now: Date) async throws -> Outcome {
        let rejected = ProductImageRejected(
            productID: upload.productID, uploadID: upload.uploadID, originalKey: upload.key, reason: reason,
            rejectedAt: Timestamp.format(now))
        let original = try upload.record(topics: topics, id: "\(upload.uploadID):uploaded", time: now)
        try await append([
            try rejected.record(topics: topics, id: "\(upload.uploadID):rejected", time: now),
            DeadLetter.record(for: original, topics: topics, error: reason, errorClass: "validation", attempts: 1),
        ])
        logger.warning(
            "product image rejected",
            metadata: ["product_id": "\(upload.productID)", "upload_id": "\(upload.uploadID)", "reason": "\(reason)"])
        return .rejected(reason: reason)
    }

    /// Appends the function's events, in the trace of the upload they answer (the consumer's or request's span).
    private func append(_ records: [EventRecord]) async throws {
        for result in await eventLog.append(records.map { $0.tracingCurrentContext() }) {
            if case .failure(let error) = result { throw error }
        }
    }
}
