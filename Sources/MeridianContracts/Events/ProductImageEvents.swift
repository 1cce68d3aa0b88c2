import MeridianCore

/// `product-images.uploaded` (CONTRACTS.md): an upload is in the object store, waiting for the image function.
public struct ProductImageUploaded: DomainEvent {
    public static let type = EventType(rawValue: "product-images.uploaded")
    public static let role = "products"
    public static func topic(in topics: Topics) -> String { topics.productImagesUploaded }
    public var aggregateID: String { productID }

    public var productID: String
    public var uploadID: String
    /// `uploads/products/<product_id>/<upload_id>.<ext>`.
    public var key: String
    public var contentType: String
    public var sizeBytes: Int64
    public var uploadedAt: String

    public init(productID: String, uploadID: String, key: String, contentType: String, sizeBytes: Int64, uploadedAt: String) {
        self.productID = productID
        self.uploadID = uploadID
        self.key = key
        self.contentType = contentType
        self.sizeBytes = sizeBytes
        self.uploadedAt = uploadedAt
    }

    enum CodingKeys: String, CodingKey {
        case productID = "product_id"
        case uploadID = "upload_id"
        case key
        case contentType = "content_type"
        case sizeBytes = "size_bytes"
        case uploadedAt = "uploaded_at"
    }
}

/// `product-images.processed` (CONTRACTS.md), one per variant.
public struct ProductImageProcessed: DomainEvent {
    public static let type = EventType(rawValue: "product-images.processed")
    public static let role = "images"
    public static func topic(in topics: Topics) -> String { topics.productImagesProcessed }
    public var aggregateID: String { productID }

    public var productID: String
    public var originalKey: String
    public var processedKey: String
    /// `thumbnail`, `medium` or `large`.
    public var sizeLabel: String
    public var width: Int
    public var height: Int
    public var sizeBytes: Int64
    public var contentType: String
    public var processedAt: String

    public init(
        productID: String, originalKey: String, processedKey: String, sizeLabel: String, width: Int, height: Int,
        sizeBytes: Int64, contentType: String, processedAt: String
    ) {
        self.productID = productID
        self.originalKey = originalKey
        self.processedKey = processedKey
        self.sizeLabel = sizeLabel
        self.width = width
        self.height = height
        self.sizeBytes = sizeBytes
        self.contentType = contentType
        self.processedAt = processedAt
    }

    enum CodingKeys: String, CodingKey {
        case productID = "product_id"
        case originalKey = "original_key"
        case processedKey = "processed_key"
        case sizeLabel = "size_label"
        case width, height
        case sizeBytes = "size_bytes"
        case contentType = "content_type"
        case processedAt = "processed_at"
    }
}

/// `product-images.rejected`, Meridian's extension on the `product-images.processed` topic (docs/architecture.md):
/// an upload the image function will not process, and why, so the product can show it as rejected.
public struct ProductImageRejected: DomainEvent {
    public static let type = EventType(rawValue: "product-images.rejected")
    public static let role = "images"
    public static func topic(in topics: Topics) -> String { topics.productImagesProcessed }
    public var aggregateID: String { productID }

    public var productID: String
    public var uploadID: String
    public var originalKey: String
    public var reason: String
    public var rejectedAt: String

    public init(productID: String, uploadID: String, originalKey: String, reason: String, rejectedAt: String) {
        self.productID = productID
        self.uploadID = uploadID
        self.originalKey = originalKey
        self.reason = reason
        self.rejectedAt = rejectedAt
    }

    enum CodingKeys: String, CodingKey {
        case productID = "product_id"
        case uploadID = "upload_id"
        case originalKey = "original_key"
        case reason
        case rejectedAt = "rejected_at"
    }
}

/// Where product images live in the object store (CONTRACTS.md, "Product images"): the products role writes uploads
/// there, the image function and the storage notifications read them back.
public enum ProductImageLayout {
    /// The image types an upload may have, by file extension (the first extension of a type is the one uploads get).
    public static let contentTypes: [String: String] = [
        "jpg": "image/jpeg", "jpeg": "image/jpeg", "png": "image/png", "webp": "image/webp", "gif": "image/gif",
        "avif": "image/avif", "heic": "image/heic",
    ]

    /// The extension an upload of `contentType` is stored with, or nil for a type no upload may have.
    public static func fileExtension(of contentType: String) -> String? {
        switch contentType.lowercased() {
        case "image/jpeg": "jpg"
        case "image/png": "png"
        case "image/webp": "webp"
        case "image/gif": "gif"
        case "image/avif": "avif"
        case "image/heic": "heic"
        default: nil
        }
    }

    /// The variants every processed upload has, smallest first.
    public static let sizeLabels = ["thumbnail", "medium", "large"]

    /// `uploads/products/<product_id>/<upload_id>.<ext>`, or nil for a content type no upload may have.
    public static func uploadKey(product: String, upload: String, contentType: String) -> String? {
        fileExtension(of: contentType).map { "uploads/products/\(product)/\(upload).\($0)" }
    }

    /// The product, upload and extension (lowercased) a key of the upload layout names; nil for any other key.
    public static func upload(inKey key: String) -> (productID: String, uploadID: String, fileExtension: String)? {
        let parts = key.split(separator: "/", omittingEmptySubsequences: false)
        guard parts.count == 4, parts[0] == "uploads", parts[1] == "products", !parts[2].isEmpty,
            let dot = parts[3].lastIndex(of: "."), dot != parts[3].startIndex
        else { return nil }
        let fileName = parts[3]
        return (String(parts[2]), String(fileName[..<dot]), fileName[fileName.index(after: dot)...].lowercased())
    }
}
