import Foundation
import Logging
import MeridianContracts
import MeridianCore
import MeridianStorage
import SQLKit

/// An image of a product: an upload, and the variants the image function made of it.
public struct ProductImage: Sendable, Hashable {
    public enum Status: String, Sendable, Hashable {
        /// A presigned upload was handed out; nothing says the object is there yet. Not shown on the product.
        case awaitingUpload = "awaiting_upload"
        /// Uploaded, waiting for the image function.
        case pending
        /// Every variant is made.
        case processed
        /// The image function would not process it (`reason` says why).
        case rejected
    }

    public struct Variant: Sendable, Hashable {
        public var sizeLabel: String
        public var key: String
        /// The padded box.
        public var width: Int
        public var height: Int
        public var sizeBytes: Int64
        public var contentType: String
    }

    public var uploadID: String
    public var productID: ProductID
    public var status: Status
    public var reason: String?
    /// `uploads/products/<product_id>/<upload_id>.<ext>`.
    public var sourceKey: String
    public var contentType: String
    public var createdAt: Date
    /// In the order of ``ProductImageLayout/sizeLabels``.
    public var variants: [Variant]

    public init(
        uploadID: String, productID: ProductID, status: Status, reason: String? = nil, sourceKey: String,
        contentType: String, createdAt: Date, variants: [Variant] = []
    ) {
        self.uploadID = uploadID
        self.productID = productID
        self.status = status
        self.reason = reason
        self.sourceKey = sourceKey
        self.contentType = contentType
        self.createdAt = createdAt
        self.variants = variants
    }
}

/// The products service's record of its images (its port): uploads, their state and their variants.
public protocol ProductImageStore: Sendable {
    /// Records `image` and, when it is `pending`, puts `product-images.uploaded` in the outbox in the same transaction.
    /// False when the product does not exist (or was deleted).
    func addImage(_ image: ProductImage, sizeBytes: Int64, topics: Topics) async throws -> Bool
    /// One image of `product`, or nil.
    func image(_ upload: String, of product: ProductID) async throws -> ProductImage?
    /// The images of `products` a client may see (not those awaiting their upload), oldest first, by product.
    func images(of products: [ProductID]) async throws -> [ProductID: [ProductImage]]
    /// Moves an image awaiting its upload to `pending` and puts `product-images.uploaded` in the outbox; an image
    /// already past that is returned as it is. Nil when there is no such image.
    func completeUpload(_ upload: String, of product: ProductID, sizeBytes: Int64, topics: Topics) async throws
        -> ProductImage?
    /// Removes the image and its variants; returns it (its keys name the objects to remove), or nil.
    func removeImage(_ upload: String, of product: ProductID) async throws -> ProductImage?
    /// Records a variant, once per event id (the inbox); returns the image it belongs to, or nil when there is none
    /// (deleted) or the event came before.
    func recordVariant(_ processed: ProductImageProcessed, eventID: String) async throws -> VariantOutcome
    /// Marks the upload rejected with `reason`, once per event id, unless it was processed.
    func recordRejection(_ rejected: ProductImageRejected, eventID: String) async throws
}

/// What recording a variant came to.
public enum VariantOutcome: Sendable, Hashable {
    case recorded
    /// The same event was applied before.
    case duplicate
    /// No image has this upload id (it was deleted, or never recorded here): the variant's object is an orphan.
    case unknownUpload
}

extension SQLProductStore: ProductImageStore {
    static let imageMigration = Migration(
        version: 3, name: "product_images",
        [
            """
            CREATE TABLE product_images (
                upload_id TEXT PRIMARY KEY, product_id TEXT NOT NULL, status TEXT NOT NULL, reason TEXT,
                source_key TEXT NOT NULL, content_type TEXT NOT NULL, created_at TEXT NOT NULL, updated_at TEXT NOT NULL)
            """,
            "CREATE INDEX product_images_product ON product_images (product_id, created_at)",
            """
            CREATE TABLE product_image_variants (
                upload_id TEXT NOT NULL, size_label TEXT NOT NULL, object_key TEXT NOT NULL, width BIGINT NOT NULL,
                height BIGINT NOT NULL, size_bytes BIGINT NOT NULL, content_type TEXT NOT NULL,
                PRIMARY KEY (upload_id, size_label, content_type))
            """,
        ])

    public func addImage(_ image: ProductImage, sizeBytes: Int64, topics: Topics) async throws -> Bool {
        try await store.withTransaction { database in
            guard try await Self.find(image.productID, in: database) != nil else { return false }
            let now = Timestamp.format(Date())
            try await database.raw(
                """
                INSERT INTO product_images (upload_id, product_id, status, source_key, content_type, created_at, updated_at)
                VALUES (\(bind: image.uploadID), \(bind: image.productID.rawValue), \(bind: image.status.rawValue),
                        \(bind: image.sourceKey), \(bind: image.contentType), \(bind: Timestamp.format(image.createdAt)),
                        \(bind: now))
                """
            ).run()
            if image.status == .pending {
                try await Self.enqueueUploaded(image, sizeBytes: sizeBytes, topics: topics, in: database)
            }
            return true
        }
    }

    private static func enqueueUploaded(
        _ image: ProductImage, sizeBytes: Int64, topics: Topics, in database: any SQLDatabase
    ) async throws {
        let now = Date()
        let uploaded = ProductImageUploaded(
            productID: image.productID.rawValue, uploadID: image.uploadID, key: image.sourceKey,
            contentType: image.contentType, sizeBytes: sizeBytes, uploadedAt: Timestamp.format(now))
        // The event's id is the upload's: completing an upload twice cannot start its processing twice.
        try await Outbox.enqueue(
            [try uploaded.record(topics: topics, id: "\(image.uploadID):uploaded", time: now)], service: "products",
            in: database)
    }

    public func image(_ upload: String, of product: ProductID) async throws -> ProductImage? {
        try await store.withDatabase { database in
            try await Self.image(upload, of: product, in: database)
        }
    }

    private static func image(_ upload: String, of product: ProductID, in database: any SQLDatabase) async throws
        -> ProductImage?
    {
        guard
            var image = try await database.raw(
                """
                SELECT * FROM product_images WHERE upload_id = \(bind: upload) AND product_id = \(bind: product.rawValue)
                """
            ).first().map(Self.productImage)
        else { return nil }
        image.variants = try await variants(of: [upload], in: database)[upload] ?? []
        return image
    }

    public func images(of products: [ProductID]) async throws -> [ProductID: [ProductImage]] {
        guard !products.isEmpty else { return [:] }
        return try await store.withDatabase { database in
            var query = SQLQueryString("SELECT * FROM product_images WHERE product_id IN ")
            query.appendList(products.map(\.rawValue))
            query.appendInterpolation(unsafeRaw: " AND status <> ")
            query.appendInterpolation(bind: ProductImage.Status.awaitingUpload.rawValue)
            query.appendInterpolation(unsafeRaw: " ORDER BY created_at, upload_id")
            var images = try await database.raw(query).all().map(Self.productImage)
            guard !images.isEmpty else { return [:] }
            let variants = try await Self.variants(of: images.map(\.uploadID), in: database)
            for index in images.indices { images[index].variants = variants[images[index].uploadID] ?? [] }
            return Dictionary(grouping: images, by: \.productID)
        }
    }

    /// The variants of `uploads`, by upload, in the order of the size labels.
    private static func variants(of uploads: [String], in database: any SQLDatabase) async throws
        -> [String: [ProductImage.Variant]]
    {
        var query = SQLQueryString("SELECT * FROM product_image_variants WHERE upload_id IN ")
        query.appendList(uploads)
        var variants: [String: [ProductImage.Variant]] = [:]
        for row in try await database.raw(query).all() {
            let variant = ProductImage.Variant(
                sizeLabel: try row.decode(column: "size_label", as: String.self),
                key: try row.decode(column: "object_key", as: String.self),
                width: try row.decode(column: "width", as: Int.self), height: try row.decode(column: "height", as: Int.self),
                sizeBytes: try row.decode(column: "size_bytes", as: Int64.self),
                contentType: try row.decode(column: "content_type", as: String.self))
            variants[try row.decode(column: "upload_id", as: String.self), default: []].append(variant)
        }
        let order = ProductImageLayout.sizeLabels
        for (upload, list) in variants {
            // By size, the JPEG before its WebP twin.
            variants[upload] = list.sorted {
                (order.firstIndex(of: $0.sizeLabel) ?? order.count, $0.sizeLabel, $0.contentType == "image/jpeg" ? 0 : 1)
                    < (order.firstIndex(of: $1.sizeLabel) ?? order.count, $1.sizeLabel, $1.contentType == "image/jpeg" ? 0 : 1)
            }
        }
        return variants
    }

    public func completeUpload(_ upload: String, of product: ProductID, sizeBytes: Int64, topics: Topics) async throws
        -> ProductImage?
    {
        try await store.withTransaction { database in
            guard var image = try await Self.image(upload, of: product, in: database) else { return nil }
            // Only the transaction that moves it enqueues: two racing completions emit one event.
            let moved = try await database.raw(
                """
                UPDATE product_images SET status = \(bind: ProductImage.Status.pending.rawValue),
                    updated_at = \(bind: Timestamp.format(Date()))
                WHERE upload_id = \(bind: upload) AND status = \(bind: ProductImage.Status.awaitingUpload.rawValue)
                RETURNING upload_id
                """
            ).first()
            guard moved != nil else {
                // Another completion moved it first (it waited for that one's row lock): as it is now.
                return try await Self.image(upload, of: product, in: database)
            }
            image.status = .pending
            try await Self.enqueueUploaded(image, sizeBytes: sizeBytes, topics: topics, in: database)
            return image
        }
    }

    public func removeImage(_ upload: String, of product: ProductID) async throws -> ProductImage? {
        try await store.withTransaction { database in
            guard let image = try await Self.image(upload, of: product, in: database) else { return nil }
            try await database.raw("DELETE FROM product_image_variants WHERE upload_id = \(bind: upload)").run()
            try await database.raw("DELETE FROM product_images WHERE upload_id = \(bind: upload)").run()
            return image
        }
    }

    public func recordVariant(_ processed: ProductImageProcessed, eventID: String) async throws -> VariantOutcome {
        guard let upload = ProductImageLayout.upload(inKey: processed.originalKey) else { return .unknownUpload }
        return try await store.withTransaction { database in
            guard try await Inbox.claim(eventID, consumer: "products-images", in: database) else { return .duplicate }
            guard
                let row = try await database.raw(
                    """
                    SELECT status FROM product_images
                    WHERE upload_id = \(bind: upload.uploadID) AND product_id = \(bind: processed.productID)
                    """
                ).first()
            else { return .unknownUpload }
            // The same upload processed again makes the same variant: replacing it changes nothing.
            try await database.raw(
                """
                DELETE FROM product_image_variants
                WHERE upload_id = \(bind: upload.uploadID) AND size_label = \(bind: processed.sizeLabel)
                    AND content_type = \(bind: processed.contentType)
                """
            ).run()
            try await database.raw(
                """
                INSERT INTO product_image_variants (upload_id, size_label, object_key, width, height, size_bytes, content_type)
                VALUES (\(bind: upload.uploadID), \(bind: processed.sizeLabel), \(bind: processed.processedKey),
                        \(bind: processed.width), \(bind: processed.height), \(bind: processed.sizeBytes),
                        \(bind: processed.contentType))
                """
            ).run()
            let labels = Set(
                try await database.raw(
                    "SELECT size_label FROM product_image_variants WHERE upload_id = \(bind: upload.uploadID)"
                ).all().map { try $0.decode(column: "size_label", as: String.self) })
            let status = try row.decode(column: "status", as: String.self)
            if labels.isSuperset(of: ProductImageLayout.sizeLabels), status != ProductImage.Status.processed.rawValue {
                // Processed wins over everything: a notification may have processed an upload never completed here.
                try await database.raw(
                    """
                    UPDATE product_images SET status = \(bind: ProductImage.Status.processed.rawValue), reason = NULL,
                        updated_at = \(bind: Timestamp.format(Date()))
                    WHERE upload_id = \(bind: upload.uploadID)
                    """
                ).run()
            }
            return .recorded
        }
    }

    public func recordRejection(_ rejected: ProductImageRejected, eventID: String) async throws {
        try await store.withTransaction { database in
            guard try await Inbox.claim(eventID, consumer: "products-images", in: database) else { return }
            try await database.raw(
                """
                UPDATE product_images SET status = \(bind: ProductImage.Status.rejected.rawValue),
                    reason = \(bind: rejected.reason), updated_at = \(bind: Timestamp.format(Date()))
                WHERE upload_id = \(bind: rejected.uploadID) AND product_id = \(bind: rejected.productID)
                    AND status <> \(bind: ProductImage.Status.processed.rawValue)
                """
            ).run()
        }
    }

    static func productImage(_ row: any SQLRow) throws -> ProductImage {
        let status = try row.decode(column: "status", as: String.self)
        return ProductImage(
            uploadID: try row.decode(column: "upload_id", as: String.self),
            productID: ProductID(rawValue: try row.decode(column: "product_id", as: String.self)),
            status: ProductImage.Status(rawValue: status) ?? .pending,
            reason: try row.decode(column: "reason", as: String?.self),
            sourceKey: try row.decode(column: "source_key", as: String.self),
            contentType: try row.decode(column: "content_type", as: String.self),
            createdAt: Timestamp.parse(try row.decode(column: "created_at", as: String.self)) ?? Date(timeIntervalSince1970: 0))
    }
}

/// The products service's consumer of `product-images.processed`: each variant is recorded on its image, and a
/// rejection marks the image rejected. A variant of an image that no longer exists (deleted while it was being
/// processed) is an orphan: its object is removed.
public struct ProductImageEventsHandler: Sendable {
    let images: any ProductImageStore
    let objects: any ObjectStore
    let logger: Logger

    public init(images: any ProductImageStore, objects: any ObjectStore, logger: Logger) {
        self.images = images
        self.objects = objects
        self.logger = logger
    }

    public func handle(_ event: CloudEvent) async throws {
        switch try CommerceEvent(event) {
        case .productImageProcessed(let processed)?:
            switch try await images.recordVariant(processed, eventID: event.id) {
            case .recorded:
                logger.debug(
                    "image variant recorded",
                    metadata: ["product_id": "\(processed.productID)", "key": "\(processed.processedKey)"])
            case .duplicate:
                break
            case .unknownUpload:
                if let key = ObjectKey(rawValue: processed.processedKey), processed.processedKey.hasPrefix("processed/") {
                    try await objects.delete(key)
                    logger.info("orphan image variant removed", metadata: ["key": "\(processed.processedKey)"])
                }
            }
        case .productImageRejected(let rejected)?:
            try await images.recordRejection(rejected, eventID: event.id)
            logger.info(
                "image rejected", metadata: ["product_id": "\(rejected.productID)", "upload_id": "\(rejected.uploadID)"])
        default:
            return
        }
    }
}
