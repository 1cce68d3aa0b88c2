import Foundation
import HTTPTypes
import Hummingbird
import Logging
import MeridianAuth
import MeridianContracts
import MeridianCore
import MeridianHTTP

/// What the products API needs for images: their records, the object store, and how a variant is reached.
public struct ProductImageAccess: Sendable {
    public var images: any ProductImageStore
    public var objects: any ObjectStore
    /// The URL a client reads a variant at: presigned for S3, served by Meridian for local files.
    public var variantURL: @Sendable (ObjectKey) async throws -> String
    /// Largest upload, in bytes (`images.maxUploadBytes`).
    public var maxUploadBytes: Int64
    /// How long a presigned upload URL stays valid.
    public var uploadURLLifetime: Duration = .seconds(900)

    public init(
        images: any ProductImageStore, objects: any ObjectStore, maxUploadBytes: Int64,
        variantURL: @escaping @Sendable (ObjectKey) async throws -> String
    ) {
        self.images = images
        self.objects = objects
        self.maxUploadBytes = maxUploadBytes
        self.variantURL = variantURL
    }
}

/// The images of the products API, under `/api/products/{id}/images` (admin): an upload through the API, a
/// presigned upload straight to the store and its completion, and removal.
extension ProductsController {
    func addImageRoutes(to api: some RouterMethods<MeridianRequestContext>) {
        api.post(":id/images") { request, context in try await self.upload(request, context: context) }
        api.post(":id/images/uploads") { request, context in try await self.presignUpload(request, context: context) }
        api.post(":id/images/uploads/:upload_id/complete") { _, context in try await self.completeUpload(context) }
        api.delete(":id/images/:upload_id") { _, context in try await self.deleteImage(context) }
    }

    struct UploadView: Encodable {
        var uploadID: String
        var status: String

        enum CodingKeys: String, CodingKey {
            case uploadID = "upload_id"
            case status
        }
    }

    struct PresignedUploadView: Encodable {
        var uploadID: String
        var url: String
        var method: String
        var headers: [String: String]
        var expiresAt: String

        enum CodingKeys: String, CodingKey {
            case uploadID = "upload_id"
            case url, method, headers
            case expiresAt = "expires_at"
        }
    }

    struct NewUpload: Decodable {
        var contentType: String

        enum CodingKeys: String, CodingKey {
            case contentType = "content_type"
        }
    }

    struct ImageView: Encodable, Sendable {
        struct VariantView: Encodable, Sendable {
            var sizeLabel: String
            var width: Int
            var height: Int
            var sizeBytes: Int64
            var contentType: String
            var url: String

            enum CodingKeys: String, CodingKey {
                case sizeLabel = "size_label"
                case width, height
                case sizeBytes = "size_bytes"
                case contentType = "content_type"
                case url
            }
        }

        var uploadID: String
        var status: String
        var reason: String?
        var variants: [VariantView]

        enum CodingKeys: String, CodingKey {
            case uploadID = "upload_id"
            case status, reason, variants
        }
    }

    /// The images of `products` as clients see them, by product.
    func imageViews(of products: [ProductID]) async throws -> [ProductID: [ImageView]] {
        guard let access = images, !products.isEmpty else { return [:] }
        var views: [ProductID: [ImageView]] = [:]
        for (product, images) in try await access.images.images(of: products) {
            var list: [ImageView] = []
            for image in images {
                var variants: [ImageView.VariantView] = []
                for variant in image.variants {
                    guard let key = ObjectKey(rawValue: variant.key) else { continue }
                    variants.append(
                        ImageView.VariantView(
                            sizeLabel: variant.sizeLabel, width: variant.width, height: variant.height,
                            sizeBytes: variant.sizeBytes, contentType: variant.contentType, url: try await access.variantURL(key))
                    )
                }
                list.append(
                    ImageView(uploadID: image.uploadID, status: image.status.rawValue, reason: image.reason, variants: variants))
            }
            views[product] = list
        }
        return views
    }

    private func imageAccess() throws -> ProductImageAccess {
        guard let images else {
            throw ProblemDetails(.notFound, slug: "not-found", detail: "this server keeps no product images")
        }
        return images
    }

    /// The image type of the request: 415 for any other.
    private static func imageType(_ request: Request) throws -> String {
        let header = request.headers[.contentType] ?? ""
        let type = header.split(separator: ";", maxSplits: 1).first.map {
            $0.trimmingCharacters(in: .whitespaces).lowercased()
        }
        guard let type, ProductImageLayout.fileExtension(of: type) != nil else {
            throw ProblemDetails(
                .unsupportedMediaType, slug: "unsupported-media-type",
                detail: "send the image as image/jpeg, image/png, image/webp, image/gif, image/avif or image/heic",
                field: "Content-Type")
        }
        return type
    }

    private static func tooLarge(_ limit: Int64) -> ProblemDetails {
        ProblemDetails(
            .contentTooLarge, slug: "too-large", detail: "the image exceeds the limit of \(limit) bytes (images.maxUploadBytes)")
    }

    /// `POST /api/products/{id}/images`: the body is the image. Stored under `uploads/products/<product>/<upload>.<ext>`
    /// as it streams in, then recorded as pending with `product-images.uploaded` in the outbox.
    func upload(_ request: Request, context: MeridianRequestContext) async throws -> Response {
        _ = try context.requireAdmin()
        let access = try imageAccess()
        let product = try await existing(context)
        let contentType = try Self.imageType(request)
        if let length = request.headers[.contentLength].flatMap(Int64.init), length > access.maxUploadBytes {
            throw Self.tooLarge(access.maxUploadBytes)
        }
        let uploadID = RandomID.uuidString().lowercased()
        let key = try ObjectKey(
            validating: ProductImageLayout.uploadKey(product: product.id.rawValue, upload: uploadID, contentType: contentType)
                ?? "")
        let stored: ObjectInfo
        do {
            stored = try await access.objects.put(
                key, contentType: contentType, metadata: ["product-id": product.id.rawValue, "upload-id": uploadID],
                limit: access.maxUploadBytes, body: request.body.map { Array($0.readableBytesView) })
        } catch ObjectStoreError.tooLarge {
            throw Self.tooLarge(access.maxUploadBytes)
        }
        guard stored.size > 0 else {
            try await access.objects.delete(key)
            throw ProblemDetails(.unprocessableContent, slug: "invalid-field", detail: "body: the image is empty", field: "body")
        }
        let image = ProductImage(
            uploadID: uploadID, productID: product.id, status: .pending, sourceKey: key.rawValue, contentType: contentType,
            createdAt: Date())
        guard try await access.images.addImage(image, sizeBytes: stored.size, topics: topics) else {
            // Deleted while the image streamed in.
            try await access.objects.delete(key)
            throw ProblemDetails(.notFound, slug: "not-found", detail: "no product \(product.id.rawValue)")
        }
        logger.info("product image uploaded", metadata: ["product_id": "\(product.id.rawValue)", "upload_id": "\(uploadID)"])
        return jsonResponse(
            UploadView(uploadID: uploadID, status: image.status.rawValue), status: .accepted,
            headers: [.location: "/api/products/\(product.id.rawValue)"])
    }

    /// `POST /api/products/{id}/images/uploads`: a presigned PUT straight to the store. Processing starts from the
    /// store's notification, or from `…/uploads/{upload_id}/complete`.
    func presignUpload(_ request: Request, context: MeridianRequestContext) async throws -> Response {
        _ = try context.requireAdmin()
        let access = try imageAccess()
        let product = try await existing(context)
        let new = try await decodeJSONBody(NewUpload.self, from: request, context: context)
        let contentType = new.contentType.lowercased()
        let uploadID = RandomID.uuidString().lowercased()
        guard let name = ProductImageLayout.uploadKey(product: product.id.rawValue, upload: uploadID, contentType: contentType)
        else {
            throw ProblemDetails(
                .unprocessableContent, slug: "invalid-field",
                detail: "content_type must be image/jpeg, image/png, image/webp, image/gif, image/avif or image/heic",
                field: "content_type")
        }
        let key = try ObjectKey(validating: name)
        let presigned = try await access.objects.presign(
            .put, key, contentType: contentType, expiresIn: access.uploadURLLifetime)
        let image = ProductImage(
            uploadID: uploadID, productID: product.id, status: .awaitingUpload, sourceKey: key.rawValue,
            contentType: contentType, createdAt: Date())
        guard try await access.images.addImage(image, sizeBytes: 0, topics: topics) else {
            throw ProblemDetails(.notFound, slug: "not-found", detail: "no product \(product.id.rawValue)")
        }
        return jsonResponse(
            PresignedUploadView(
                uploadID: uploadID, url: presigned.url, method: presigned.method.rawValue, headers: presigned.headers,
                expiresAt: Timestamp.format(presigned.expiresAt)), status: .created,
            headers: [.location: "/api/products/\(product.id.rawValue)/images/uploads/\(uploadID)/complete"])
    }

    /// `POST /api/products/{id}/images/uploads/{upload_id}/complete`: the object must be in the store; then the
    /// upload is pending and `product-images.uploaded` goes out once, however often this is called.
    func completeUpload(_ context: MeridianRequestContext) async throws -> Response {
        _ = try context.requireAdmin()
        let access = try imageAccess()
        let product = try await existing(context)
        let uploadID = context.parameter("upload_id")
        guard let image = try await access.images.image(uploadID, of: product.id) else {
            throw ProblemDetails(.notFound, slug: "not-found", detail: "no upload \(uploadID) of product \(product.id.rawValue)")
        }
        guard image.status == .awaitingUpload else {
            return jsonResponse(UploadView(uploadID: uploadID, status: image.status.rawValue), status: .accepted)
        }
        guard let key = ObjectKey(rawValue: image.sourceKey), let stored = try await access.objects.head(key) else {
            throw ProblemDetails(
                .conflict, slug: "upload-missing",
                detail: "nothing was uploaded for \(uploadID) yet: PUT the image to its URL first")
        }
        let completed = try await access.images.completeUpload(
            uploadID, of: product.id, sizeBytes: stored.size, topics: topics)
        return jsonResponse(
            UploadView(uploadID: uploadID, status: (completed?.status ?? .pending).rawValue), status: .accepted)
    }

    /// `DELETE /api/products/{id}/images/{upload_id}`: the record, then its objects (the upload and its variants).
    func deleteImage(_ context: MeridianRequestContext) async throws -> Response {
        _ = try context.requireAdmin()
        let access = try imageAccess()
        let product = ProductID(rawValue: context.parameter("id"))
        let uploadID = context.parameter("upload_id")
        guard let image = try await access.images.removeImage(uploadID, of: product) else {
            throw ProblemDetails(.notFound, slug: "not-found", detail: "no image \(uploadID) of product \(product.rawValue)")
        }
        for name in [image.sourceKey] + image.variants.map(\.key) {
            guard let key = ObjectKey(rawValue: name) else { continue }
            do {
                try await access.objects.delete(key)
            } catch {
                // The record is gone: an object left behind is storage, not a wrong answer.
                logger.warning("cannot remove an image object", metadata: ["key": "\(name)", "error": "\(error)"])
            }
        }
        logger.info("product image deleted", metadata: ["product_id": "\(product.rawValue)", "upload_id": "\(uploadID)"])
        return Response(status: .noContent)
    }
}
