import Configuration
import Foundation
import MeridianTestSupport
import Testing

/// Product images end to end in all-in-one mode, over real HTTP: an upload through the API and one straight to
/// the store through a presigned URL each become three variants on disk, which the product lists and Meridian
/// serves; what is not an image is rejected with its reason; removal takes the objects away.
@Suite(.serialized) struct ProductImageFlowTests {
    /// The path and query of a URL Meridian made (its base names the configured port, not the test's).
    func local(_ url: String) throws -> String {
        let components = try #require(URLComponents(string: url), "\(url)")
        return components.percentEncodedPath + (components.percentEncodedQuery.map { "?" + $0 } ?? "")
    }

    func newProduct(_ platform: AllInOne, admin: String) async throws -> String {
        let created = try await platform.call(
            "POST", "/api/products", token: admin,
            json: ["name": "Lamp", "category": "home", "price_cents": 4_500, "stock": 3])
        #expect(created.status == 201, "\(created)")
        return try #require(created.object["id"] as? String)
    }

    func images(_ platform: AllInOne, product: String) async throws -> [[String: Any]] {
        try await platform.call("GET", "/api/products/\(product)").object["images"] as? [[String: Any]] ?? []
    }

    /// Waits until the product's image `upload` has `status`.
    func eventually(
        _ platform: AllInOne, product: String, upload: String, status: String
    ) async throws -> [String: Any] {
        let answer = try await platform.eventually("/api/products/\(product)", token: nil, timeout: .seconds(60)) {
            ($0.object["images"] as? [[String: Any]] ?? []).contains {
                $0["upload_id"] as? String == upload && $0["status"] as? String == status
            }
        }
        let images = answer.object["images"] as? [[String: Any]] ?? []
        return try #require(images.first { $0["upload_id"] as? String == upload })
    }

    @Test func anUploadBecomesThreeServedVariantsAndRemovalTakesThemAway() async throws {
        let photo = try #require(ImageFunctionSample.jpeg(width: 1_000, height: 700), "libvips makes a sample image")
        try await AllInOne.with { platform in
            let admin = try await platform.admin()
            let product = try await newProduct(platform, admin: admin)
            let uploaded = try await platform.call(
                "POST", "/api/products/\(product)/images", token: admin, body: Data(photo),
                headers: ["Content-Type": "image/jpeg"])
            #expect(uploaded.status == 202, "\(uploaded)")
            #expect(uploaded.object["status"] as? String == "pending")
            let upload = try #require(uploaded.object["upload_id"] as? String)
            #expect(
                FileManager.default.fileExists(atPath: "\(platform.directory)/objects/uploads/products/\(product)/\(upload).jpg"))

            let image = try await eventually(platform, product: product, upload: upload, status: "processed")
            let variants = image["variants"] as? [[String: Any]] ?? []
            #expect(variants.map { $0["size_label"] as? String } == ["thumbnail", "medium", "large"])
            #expect(variants.map { $0["width"] as? Int } == [150, 400, 800])
            #expect(variants.map { $0["height"] as? Int } == [150, 400, 800])
            for variant in variants {
                let path = try local(try #require(variant["url"] as? String))
                let served = try await platform.call("GET", path)
                #expect(served.status == 200, "\(path): \(served.status)")
                #expect(served.headers["content-type"] == "image/jpeg")
                #expect(Array(served.body.prefix(3)) == [0xFF, 0xD8, 0xFF], "a JPEG")
                #expect(served.body.count == variant["size_bytes"] as? Int)
                #expect(served.headers["cache-control"] == "public, max-age=31536000, immutable")
                let etag = try #require(served.headers["etag"])
                let again = try await platform.call("GET", path, body: nil, headers: ["If-None-Match": etag])
                #expect(again.status == 304)
            }
            // The upload itself is not public.
            let source = try await platform.call("GET", "/objects/uploads/products/\(product)/\(upload).jpg")
            #expect(source.status == 403, "\(source)")

            let removed = try await platform.call("DELETE", "/api/products/\(product)/images/\(upload)", token: admin)
            #expect(removed.status == 204, "\(removed)")
            #expect(try await images(platform, product: product).isEmpty)
            for variant in variants {
                let path = try local(try #require(variant["url"] as? String))
                #expect(try await platform.call("GET", path).status == 404, "\(path) is removed")
            }
            #expect(
                !FileManager.default.fileExists(atPath: "\(platform.directory)/objects/uploads/products/\(product)/\(upload).jpg")
            )
            let again = try await platform.call("DELETE", "/api/products/\(product)/images/\(upload)", token: admin)
            #expect(again.status == 404)
        }
    }

    @Test func whatIsNotAnImageIsRejectedWithItsReasonAndTheProcessLivesOn() async throws {
        try await AllInOne.with { platform in
            let admin = try await platform.admin()
            let product = try await newProduct(platform, admin: admin)
            let uploaded = try await platform.call(
                "POST", "/api/products/\(product)/images", token: admin, body: Data("not an image at all".utf8),
                headers: ["Content-Type": "image/png"])
            #expect(uploaded.status == 202, "\(uploaded)")
            let upload = try #require(uploaded.object["upload_id"] as? String)
            let image = try await eventually(platform, product: product, upload: upload, status: "rejected")
            #expect((image["reason"] as? String ?? "").isEmpty == false, "\(image)")
            #expect((image["variants"] as? [Any])?.isEmpty == true)
            #expect(try await platform.call("GET", "/health").status == 200)
        }
    }

    @Test func theUploadRouteRefusesWhatItMust() async throws {
        try await AllInOne.with(["images.maxUploadBytes": .init(.int(2_048), isSecret: false)]) { platform in
            let admin = try await platform.admin()
            let customer = try await platform.customer("shopper@example.com")
            let product = try await newProduct(platform, admin: admin)
            let path = "/api/products/\(product)/images"
            let jpeg = ["Content-Type": "image/jpeg"]
            let small = Data(repeating: 1, count: 100)

            let cases: [(String, String?, Data, [String: String], Int, String?)] = [
                ("no token", nil, small, jpeg, 401, nil),
                ("a customer", customer, small, jpeg, 403, nil),
                ("text", admin, small, ["Content-Type": "text/plain"], 415, "Content-Type"),
                ("no type", admin, small, [:], 415, "Content-Type"),
                ("svg", admin, small, ["Content-Type": "image/svg+xml"], 415, "Content-Type"),
                ("too large", admin, Data(repeating: 1, count: 4_096), jpeg, 413, nil),
                ("empty", admin, Data(), jpeg, 422, "body"),
            ]
            for (name, token, body, headers, status, field) in cases {
                let answer = try await platform.call("POST", path, token: token, body: body, headers: headers)
                #expect(answer.status == status, "\(name): \(answer)")
                #expect(answer.headers["content-type"] == "application/problem+json", "\(name)")
                if let field { #expect(answer.object["field"] as? String == field, "\(name): \(answer)") }
            }
            let unknown = try await platform.call(
                "POST", "/api/products/no-such-product/images", token: admin, body: small, headers: jpeg)
            #expect(unknown.status == 404, "\(unknown)")
            // Nothing refused was kept.
            let kept =
                (try? FileManager.default.contentsOfDirectory(
                    atPath: "\(platform.directory)/objects/uploads/products/\(product)")) ?? []
            #expect(kept.isEmpty, "\(kept)")
            #expect(try await images(platform, product: product).isEmpty)
        }
    }

    @Test func aPresignedUploadIsCompletedOnceAndProcessed() async throws {
        let photo = try #require(ImageFunctionSample.jpeg(width: 600, height: 900), "libvips makes a sample image")
        try await AllInOne.with { platform in
            let admin = try await platform.admin()
            let product = try await newProduct(platform, admin: admin)
            let refused = try await platform.call(
                "POST", "/api/products/\(product)/images/uploads", token: admin, json: ["content_type": "text/html"])
            #expect(refused.status == 422 && refused.object["field"] as? String == "content_type", "\(refused)")

            let presigned = try await platform.call(
                "POST", "/api/products/\(product)/images/uploads", token: admin, json: ["content_type": "image/jpeg"])
            #expect(presigned.status == 201, "\(presigned)")
            let upload = try #require(presigned.object["upload_id"] as? String)
            #expect(presigned.object["method"] as? String == "PUT")
            let url = try local(try #require(presigned.object["url"] as? String))
            let complete = "/api/products/\(product)/images/uploads/\(upload)/complete"
            // Awaiting its upload, it is not on the product, and completing it now is a conflict.
            #expect(try await images(platform, product: product).isEmpty)
            let early = try await platform.call("POST", complete, token: admin)
            #expect(early.status == 409, "\(early)")

            // The URL is for that content type only, and its signature is checked.
            let wrongType = try await platform.call("PUT", url, body: Data(photo), headers: ["Content-Type": "image/png"])
            #expect(wrongType.status == 403, "\(wrongType)")
            let forged = try await platform.call(
                "PUT", url.replacingOccurrences(of: "signature=", with: "signature=0"), body: Data(photo),
                headers: ["Content-Type": "image/jpeg"])
            #expect(forged.status == 403, "\(forged)")
            let put = try await platform.call("PUT", url, body: Data(photo), headers: ["Content-Type": "image/jpeg"])
            #expect(put.status == 200, "\(put)")
            #expect(put.headers["etag"] != nil)

            let completed = try await platform.call("POST", complete, token: admin)
            #expect(completed.status == 202 && completed.object["status"] as? String == "pending", "\(completed)")
            let image = try await eventually(platform, product: product, upload: upload, status: "processed")
            #expect((image["variants"] as? [Any])?.count == 3)
            // Completing again changes nothing.
            let again = try await platform.call("POST", complete, token: admin)
            #expect(again.status == 202 && again.object["status"] as? String == "processed", "\(again)")
            let other = try await platform.call(
                "POST", "/api/products/\(product)/images/uploads/not-an-upload/complete", token: admin)
            #expect(other.status == 404, "\(other)")
        }
    }
}
