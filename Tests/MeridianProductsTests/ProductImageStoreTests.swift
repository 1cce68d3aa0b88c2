import Foundation
import MeridianContracts
import MeridianCore
import MeridianProducts
import MeridianStorage
import MeridianTestSupport
import Testing

/// The products service's record of its images on SQLite and PostgreSQL: an upload emits its event once however
/// often it is completed, variants arrive in any order and any number of times, and a rejection never undoes a
/// processed image.
@Suite struct ProductImageStoreTests {
    let migrations = [(service: "products", migrations: SQLProductStore.migrations)]

    func product(_ products: SQLProductStore) async throws -> ProductID {
        let id = ProductID(rawValue: RandomID.uuidString())
        try await products.insert(
            Product(
                id: id, name: "P", description: "", category: "c", priceCents: 100, currency: "USD", stock: 1, reserved: 0,
                deleted: false, createdAt: Date()))
        return id
    }

    func image(_ product: ProductID, _ upload: String, status: ProductImage.Status) -> ProductImage {
        ProductImage(
            uploadID: upload, productID: product, status: status,
            sourceKey: "uploads/products/\(product.rawValue)/\(upload).jpg", contentType: "image/jpeg", createdAt: Date())
    }

    func variant(_ product: ProductID, _ upload: String, _ label: String, size: Int) -> ProductImageProcessed {
        ProductImageProcessed(
            productID: product.rawValue, originalKey: "uploads/products/\(product.rawValue)/\(upload).jpg",
            processedKey: "processed/\(label)/\(product.rawValue)/\(upload)_\(size)x\(size).jpg", sizeLabel: label,
            width: size, height: size, sizeBytes: Int64(size * 10), contentType: "image/jpeg",
            processedAt: "2026-11-30T00:00:00.000Z")
    }

    func pending(_ database: TestDatabase) async throws -> Int {
        try await database.store.withDatabase { try await Outbox.pendingCount(service: "products", in: $0) }
    }

    @Test(arguments: backends) func anUploadIsAnnouncedOnceHoweverOftenItIsCompleted(backend: String) async throws {
        let database = try await TestDatabase.make(backend, migrations: migrations)
        let products = SQLProductStore(store: database.store)
        let id = try await product(products)
        #expect(try await products.addImage(image(id, "u1", status: .awaitingUpload), sizeBytes: 0, topics: Topics()))
        #expect(try await pending(database) == 0)
        #expect(try await products.images(of: [id]).isEmpty, "awaiting its upload, it is not shown")
        // Two racing completions.
        async let first = products.completeUpload("u1", of: id, sizeBytes: 10, topics: Topics())
        async let second = products.completeUpload("u1", of: id, sizeBytes: 10, topics: Topics())
        #expect(try await [first?.status, second?.status] == [.pending, .pending])
        #expect(try await pending(database) == 1)
        #expect(try await products.completeUpload("u1", of: ProductID(rawValue: "other"), sizeBytes: 1, topics: Topics()) == nil)
        #expect(try await products.images(of: [id])[id]?.map(\.status) == [.pending])
        // An image of a product that does not exist is not recorded.
        #expect(
            try await !products.addImage(
                image(ProductID(rawValue: "gone"), "u2", status: .pending), sizeBytes: 1, topics: Topics()))
        await database.close()
    }

    @Test(arguments: backends) func variantsInAnyOrderAndTwiceMakeOneProcessedImage(backend: String) async throws {
        let database = try await TestDatabase.make(backend, migrations: migrations)
        let products = SQLProductStore(store: database.store)
        let id = try await product(products)
        #expect(try await products.addImage(image(id, "u1", status: .pending), sizeBytes: 5, topics: Topics()))
        #expect(try await pending(database) == 1)
        #expect(try await products.recordVariant(variant(id, "u1", "large", size: 800), eventID: "u1:large") == .recorded)
        #expect(try await products.recordVariant(variant(id, "u1", "large", size: 800), eventID: "u1:large") == .duplicate)
        #expect(try await products.image("u1", of: id)?.status == .pending, "one variant of three")
        #expect(
            try await products.recordVariant(variant(id, "u1", "thumbnail", size: 150), eventID: "u1:thumbnail") == .recorded)
        // The same upload processed again (a second notification): new event ids, the same variants.
        #expect(try await products.recordVariant(variant(id, "u1", "large", size: 800), eventID: "u1:large#2") == .recorded)
        #expect(try await products.recordVariant(variant(id, "u1", "medium", size: 400), eventID: "u1:medium") == .recorded)
        // A WebP twin (images.webp) is a variant of its own beside the JPEG of its size.
        var twin = variant(id, "u1", "medium", size: 400)
        twin.contentType = "image/webp"
        twin.processedKey = "processed/medium/\(id.rawValue)/u1_400x400.webp"
        #expect(try await products.recordVariant(twin, eventID: "u1:medium.webp") == .recorded)
        let done = try #require(try await products.image("u1", of: id))
        #expect(done.status == .processed)
        #expect(done.variants.map(\.sizeLabel) == ["thumbnail", "medium", "medium", "large"])
        #expect(done.variants.map(\.contentType) == ["image/jpeg", "image/jpeg", "image/webp", "image/jpeg"])
        #expect(done.variants.map(\.width) == [150, 400, 400, 800])
        // A rejection never undoes a processed image.
        try await products.recordRejection(
            ProductImageRejected(
                productID: id.rawValue, uploadID: "u1", originalKey: done.sourceKey, reason: "late", rejectedAt: ""),
            eventID: "u1:rejected")
        #expect(try await products.image("u1", of: id)?.status == .processed)
        // A variant of an image that is gone is an orphan.
        #expect(try await products.removeImage("u1", of: id)?.variants.count == 4)
        #expect(try await products.recordVariant(variant(id, "u1", "large", size: 800), eventID: "u1:large#3") == .unknownUpload)
        #expect(try await products.removeImage("u1", of: id) == nil)
        await database.close()
    }

    @Test(arguments: backends) func aRejectionIsShownWithItsReason(backend: String) async throws {
        let database = try await TestDatabase.make(backend, migrations: migrations)
        let products = SQLProductStore(store: database.store)
        let id = try await product(products)
        #expect(try await products.addImage(image(id, "u1", status: .pending), sizeBytes: 5, topics: Topics()))
        try await products.recordRejection(
            ProductImageRejected(
                productID: id.rawValue, uploadID: "u1", originalKey: "uploads/products/\(id.rawValue)/u1.jpg",
                reason: "not an image", rejectedAt: ""), eventID: "u1:rejected")
        let images = try await products.images(of: [id, ProductID(rawValue: "none")])
        #expect(images[id]?.map(\.status) == [.rejected])
        #expect(images[id]?.first?.reason == "not an image")
        await database.close()
    }
}
