import CVips
import Foundation
import Testing

@testable import MeridianImages

/// Test images made with libvips itself.
enum Pictures {
    /// A `width` × `height` image with `bands` bands (3: RGB, 4: RGBA) whose pixels `color` gives.
    static func image(width: Int, height: Int, bands: Int = 3, color: (Int, Int) -> [UInt8]) -> UnsafeMutablePointer<VipsImage> {
        var data = [UInt8]()
        data.reserveCapacity(width * height * bands)
        for y in 0..<height {
            for x in 0..<width { data += color(x, y) }
        }
        return data.withUnsafeBytes {
            vips_image_new_from_memory_copy(
                $0.baseAddress, $0.count, Int32(width), Int32(height), Int32(bands), VIPS_FORMAT_UCHAR)
        }
    }

    static func png(_ image: UnsafeMutablePointer<VipsImage>) -> [UInt8] {
        defer { meridian_vips_unref(image) }
        var buffer: UnsafeMutableRawPointer?
        var length = 0
        precondition(meridian_vips_png(image, &buffer, &length) == 0)
        defer { g_free(buffer) }
        return Array(UnsafeRawBufferPointer(start: buffer, count: length))
    }

    /// A JPEG with an EXIF orientation tag.
    static func jpeg(_ image: UnsafeMutablePointer<VipsImage>, orientation: Int32? = nil) -> [UInt8] {
        defer { meridian_vips_unref(image) }
        if let orientation { vips_image_set_int(image, "orientation", orientation) }
        var buffer: UnsafeMutableRawPointer?
        var length = 0
        precondition(meridian_vips_jpeg_keep(image, &buffer, &length, 95) == 0)
        defer { g_free(buffer) }
        return Array(UnsafeRawBufferPointer(start: buffer, count: length))
    }

    /// The pixels of a variant, to look at.
    final class Decoded {
        let image: UnsafeMutablePointer<VipsImage>
        let bytes: [UInt8]

        init(_ jpeg: [UInt8]) throws {
            bytes = jpeg
            let header = try #require(bytes.withUnsafeBytes { meridian_vips_header($0.baseAddress, $0.count) })
            defer { meridian_vips_unref(header) }
            image = try #require(vips_image_copy_memory(header))
        }

        deinit { meridian_vips_unref(image) }

        var width: Int { Int(vips_image_get_width(image)) }
        var height: Int { Int(vips_image_get_height(image)) }

        func pixel(_ x: Int, _ y: Int) -> [Double] {
            var bands = [Double](repeating: 0, count: 4)
            let count = meridian_vips_pixel(image, Int32(x), Int32(y), &bands, 4)
            return Array(bands.prefix(Int(max(0, count))))
        }

        func isWhite(_ x: Int, _ y: Int) -> Bool { pixel(x, y).allSatisfy { $0 > 240 } }
        func isRed(_ x: Int, _ y: Int) -> Bool {
            let p = pixel(x, y)
            return p.count >= 3 && p[0] > 200 && p[1] < 60 && p[2] < 60
        }
        func isBlue(_ x: Int, _ y: Int) -> Bool {
            let p = pixel(x, y)
            // Pure blue comes back about (84, 15, 253) after sRGB conversion and JPEG: blue dominates.
            return p.count >= 3 && p[0] < 130 && p[1] < 80 && p[2] > 200
        }
    }

    /// CRC-32 (ISO-HDLC), as PNG chunks carry it.
    static func crc32(_ bytes: some Sequence<UInt8>) -> UInt32 {
        var crc: UInt32 = 0xFFFF_FFFF
        for byte in bytes {
            crc ^= UInt32(byte)
            for _ in 0..<8 { crc = crc & 1 == 1 ? (crc >> 1) ^ 0xEDB8_8320 : crc >> 1 }
        }
        return ~crc
    }

    static func chunk(_ type: String, _ data: [UInt8]) -> [UInt8] {
        let length = UInt32(data.count)
        let body = Array(type.utf8) + data
        let crc = crc32(body)
        return [UInt8(length >> 24), UInt8(length >> 16 & 0xFF), UInt8(length >> 8 & 0xFF), UInt8(length & 0xFF)] + body
            + [UInt8(crc >> 24), UInt8(crc >> 16 & 0xFF), UInt8(crc >> 8 & 0xFF), UInt8(crc & 0xFF)]
    }

    /// A PNG whose header claims `width` × `height` pixels and that has hardly any data: a decompression bomb's shape.
    static func claimedPNG(width: UInt32, height: UInt32) -> [UInt8] {
        func be(_ v: UInt32) -> [UInt8] { [UInt8(v >> 24), UInt8(v >> 16 & 0xFF), UInt8(v >> 8 & 0xFF), UInt8(v & 0xFF)] }
        return [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A] + chunk("IHDR", be(width) + be(height) + [8, 2, 0, 0, 0])
            + chunk("IDAT", [0x78, 0x9C, 0x03, 0x00, 0x00, 0x00, 0x00, 0x01]) + chunk("IEND", [])
    }
}

@Suite struct ImageProcessorTests {
    let processor: ImageProcessor

    init() throws {
        processor = try ImageProcessor()
    }

    @Test func threeSquareJPEGVariantsPaddedWhiteWithAlphaFlattened() throws {
        // 1200 × 900, RGBA: a green picture whose right quarter is transparent.
        let input = Pictures.png(
            Pictures.image(width: 1_200, height: 900, bands: 4) { x, _ in x >= 900 ? [0, 0, 0, 0] : [0, 160, 0, 255] })
        let variants = try processor.process(input, contentType: "image/png")
        #expect(variants.map(\.label) == ["large", "medium", "thumbnail"])
        #expect(variants.map(\.width) == [800, 400, 150])
        #expect(variants.map(\.height) == [800, 400, 150])
        for variant in variants {
            #expect(variant.jpeg.starts(with: [0xFF, 0xD8]))
            let decoded = try Pictures.Decoded(variant.jpeg)
            #expect(decoded.width == variant.width && decoded.height == variant.height)
            let box = variant.width
            // 4:3 in a square: white bands above and below; the transparent quarter became white too.
            #expect(decoded.isWhite(box / 2, 2), "\(variant.label) top padding")
            #expect(decoded.isWhite(box / 2, box - 3), "\(variant.label) bottom padding")
            #expect(decoded.isWhite(box - 5, box / 2), "\(variant.label) flattened alpha")
            let middle = decoded.pixel(box / 4, box / 2)
            #expect(middle[1] > 120 && middle[0] < 60, "\(variant.label) content: \(middle)")
        }
    }

    /// A landscape photo whose EXIF says "rotate 90° clockwise" comes out upright (portrait: padded left and right).
    @Test func exifOrientationIsApplied() throws {
        // Left half red, right half blue; orientation 6 puts the left half on top.
        let input = Pictures.jpeg(
            Pictures.image(width: 300, height: 200) { x, _ in x < 150 ? [255, 0, 0] : [0, 0, 255] }, orientation: 6)
        let thumbnail = try #require(try processor.process(input, contentType: "image/jpeg").last)
        let decoded = try Pictures.Decoded(thumbnail.jpeg)
        #expect(decoded.isWhite(5, 75), "padding left: the content is portrait")
        #expect(!decoded.isWhite(75, 5), "no padding on top")
        #expect(decoded.isRed(75, 30), "the left half is now on top: \(decoded.pixel(75, 30))")
        #expect(decoded.isBlue(75, 120), "\(decoded.pixel(75, 120)) \(decoded.pixel(75, 100)) \(decoded.pixel(75, 140))")
        // Metadata is stripped: no EXIF left in the output.
        #expect(!thumbnail.jpeg.starts(with: [0xFF, 0xD8, 0xFF, 0xE1]))
        #expect(thumbnail.jpeg.firstRange(of: Array("Exif".utf8)) == nil)
    }

    @Test func hostileFilesAreRejectedWithAReason() throws {
        let jpeg = Pictures.jpeg(Pictures.image(width: 640, height: 480) { x, y in [UInt8(x % 256), UInt8(y % 256), 90] })
        let png = Pictures.png(Pictures.image(width: 64, height: 64) { _, _ in [1, 2, 3] })
        let cases: [(String, [UInt8], String, String)] = [
            ("not an image", Array("hello, I am a text file, honestly".utf8), "image/png", "not an image"),
            ("truncated", Array(jpeg.prefix(jpeg.count / 2)), "image/jpeg", "cannot be decoded"),
            ("20000 × 20000 pixels", Pictures.claimedPNG(width: 20_000, height: 20_000), "image/png", "megapixels"),
            (
                "a PNG that is also a ZIP", png + [0x50, 0x4B, 0x03, 0x04] + Array(repeating: 0, count: 26), "image/png",
                "follow the end"
            ),
            ("a JPEG that is also HTML", jpeg + Array("<script>alert(1)</script>".utf8), "image/jpeg", "follow the end"),
            ("declared as something else", png, "image/jpeg", "declared as image/jpeg"),
            ("a type not accepted", Array("<svg xmlns='http://www.w3.org/2000/svg'/>".utf8), "image/svg+xml", "not an accepted"),
            (
                "SVG bytes declared as PNG", Array("<svg xmlns='http://www.w3.org/2000/svg' width='10' height='10'/>".utf8),
                "image/png", "declared as image/png"
            ),
            ("empty", [], "image/png", "empty"),
        ]
        for (name, bytes, type, reason) in cases {
            do {
                _ = try processor.process(bytes, contentType: type)
                Issue.record("\(name) must be rejected")
            } catch {
                #expect(error.reason.contains(reason), "\(name): \(error.reason)")
            }
        }
        // After all that, a good image still goes through.
        #expect(try processor.process(jpeg, contentType: "image/jpeg").count == 3)
    }

    @Test func theEndOfPNGAndJPEGIsFound() {
        let png = Pictures.png(Pictures.image(width: 8, height: 8) { _, _ in [9, 9, 9] })
        #expect(ImageProcessor.trailingBytes(png) == nil)
        #expect(ImageProcessor.trailingBytes(png + [1, 2, 3]) == 3)
        let jpeg = Pictures.jpeg(Pictures.image(width: 64, height: 48) { x, _ in [UInt8(x * 4), 0, 0] }, orientation: 3)
        #expect(ImageProcessor.trailingBytes(jpeg) == nil)
        #expect(ImageProcessor.trailingBytes(jpeg + Array("PK".utf8)) == 2)
        #expect(ImageProcessor.trailingBytes(jpeg + [0]) == 1)
        #expect(ImageProcessor.trailingBytes(Array(jpeg.prefix(100))) == nil)
        #expect(ImageProcessor.trailingBytes(Array("GIF89a".utf8)) == nil)
    }
}
