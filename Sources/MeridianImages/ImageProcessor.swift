import CVips
import Foundation
import Synchronization

/// One processed size of a product image (CONTRACTS.md "Product images").
public struct ImageVariant: Sendable, Hashable {
    /// `thumbnail`, `medium` or `large`.
    public var label: String
    /// The padded box: the JPEG's own size.
    public var width: Int
    public var height: Int
    public var jpeg: [UInt8]
    /// The same pixels as WebP, when the configuration asks for it.
    public var webp: [UInt8]?
}

/// Why an upload is not an image Meridian processes: the upload is marked `rejected` with it.
public struct ImageRejection: Error, Sendable, Hashable, CustomStringConvertible {
    public var reason: String
    public init(_ reason: String) { self.reason = reason }
    public var description: String { reason }
}

/// The image function's work, without I/O: an upload's bytes in, the JPEG variants out, through libvips.
///
/// One decode: the largest variant is made with shrink-on-load straight from the upload (EXIF orientation
/// applied, converted to sRGB), kept in memory, and the smaller ones are made from it. Each variant is fitted
/// into its square box, alpha flattened onto white, padded white to the box, saved as JPEG quality 85 with
/// the metadata stripped.
///
/// Hostile files never get far: libvips' untrusted loaders (ImageMagick, PDF, SVG, ...) are blocked; the format is
/// sniffed from the bytes and must be one of the accepted ones and the one the upload declared; the pixel count is
/// checked from the header before any pixel is decoded; a truncated or damaged file fails the decode instead of
/// giving a grey half; animations give their first frame; a PNG or JPEG with data after its end (a polyglot,
/// such as an image that is also a ZIP or HTML file) is refused.
public struct ImageProcessor: Sendable {
    public struct Configuration: Sendable {
        /// Most pixels (width × height) of an upload. Default 40 megapixels.
        public var maxPixels = 40_000_000
        /// Most bytes of an upload. Default 10 MiB.
        public var maxBytes = 10 * 1_048_576
        /// The sizes made, largest first (CONTRACTS.md).
        public var sizes: [(label: String, box: Int)] = [("large", 800), ("medium", 400), ("thumbnail", 150)]
        /// JPEG quality. Default 85.
        public var quality = 85
        /// Also make each variant as WebP (same pixels, same quality setting). Default off.
        public var webp = false

        public init() {}
    }

    /// The content types accepted, and the libvips loader (sniffed from the bytes) each must come with.
    public static let loaders: [String: [String]] = [
        "image/jpeg": ["jpegload_buffer"], "image/png": ["pngload_buffer"], "image/webp": ["webpload_buffer"],
        "image/gif": ["gifload_buffer"], "image/avif": ["heifload_buffer"], "image/heic": ["heifload_buffer"],
    ]

    public let configuration: Configuration

    /// Starts libvips (once per process) with at most `concurrency` worker threads per image.
    public init(configuration: Configuration = .init(), concurrency: Int = 1) throws(ImageRejection) {
        self.configuration = configuration
        try Self.start(concurrency: concurrency)
    }

    private static let started = Mutex<Bool>(false)

    private static func start(concurrency: Int) throws(ImageRejection) {
        let ok = started.withLock { started -> Bool in
            if started { return true }
            started = meridian_vips_start(Int32(max(1, concurrency)), 50 * 1_048_576) == 0
            return started
        }
        if !ok { throw ImageRejection("libvips could not start: \(lastError())") }
    }

    /// The variants of `bytes`, an upload declared as `contentType`; throws ``ImageRejection`` for anything that is
    /// not an acceptable image.
    public func process(_ bytes: [UInt8], contentType: String) throws(ImageRejection) -> [ImageVariant] {
        guard bytes.count <= configuration.maxBytes else {
            throw ImageRejection("the file has \(bytes.count) bytes, more than the limit of \(configuration.maxBytes)")
        }
        guard let allowed = Self.loaders[contentType.lowercased()] else {
            throw ImageRejection("\(contentType) is not an accepted image type")
        }
        if let trailing = Self.trailingBytes(bytes) {
            throw ImageRejection("\(trailing) bytes follow the end of the image (a file that is also something else)")
        }
        var buffer = bytes
        do {
            return try buffer.withUnsafeMutableBytes { raw in try decode(raw, allowed: allowed, contentType: contentType) }
        } catch let rejection as ImageRejection {
            throw rejection
        } catch {
            throw ImageRejection("\(error)")
        }
    }

    private func decode(_ raw: UnsafeMutableRawBufferPointer, allowed: [String], contentType: String) throws(ImageRejection)
        -> [ImageVariant]
    {
        guard let base = raw.baseAddress, !raw.isEmpty else { throw ImageRejection("the file is empty") }
        defer { vips_error_clear() }
        guard let loaderName = vips_foreign_find_load_buffer(base, raw.count).map({ String(cString: $0) }) else {
            throw ImageRejection("not an image libvips can read")
        }
        // libvips names its loaders VipsForeignLoadJpegBuffer and its operations jpegload_buffer: compare the
        // nickname of the class.
        let nickname = Self.nickname(of: loaderName)
        guard allowed.contains(nickname) else {
            throw ImageRejection(
                "declared as \(contentType) but the bytes are \(nickname.replacingOccurrences(of: "load_buffer", with: ""))")
        }
        guard let header = meridian_vips_header(base, raw.count) else {
            throw ImageRejection("not a readable image: \(Self.lastError())")
        }
        let width = Int(vips_image_get_width(header))
        let height = Int(vips_image_get_height(header))
        meridian_vips_unref(header)
        let (pixels, overflow) = width.multipliedReportingOverflow(by: height)
        guard !overflow, pixels <= configuration.maxPixels else {
            throw ImageRejection(
                "\(width)×\(height) pixels is more than the limit of \(configuration.maxPixels / 1_000_000) megapixels")
        }
        let largest = configuration.sizes.map(\.box).max() ?? 800
        var decoded: UnsafeMutablePointer<VipsImage>?
        guard meridian_vips_thumbnail_buffer(base, raw.count, &decoded, Int32(largest), Int32(largest)) == 0,
            let decoded
        else { throw ImageRejection("the image cannot be decoded: \(Self.lastError())") }
        defer { meridian_vips_unref(decoded) }
        // Decoded once, here: every variant is made from these pixels.
        guard let source = vips_image_copy_memory(decoded) else {
            throw ImageRejection("the image cannot be decoded: \(Self.lastError())")
        }
        defer { meridian_vips_unref(source) }
        var variants: [ImageVariant] = []
        for (label, box) in configuration.sizes {
            variants.append(try variant(of: source, label: label, box: box))
        }
        return variants
    }

    private func variant(of source: UnsafeMutablePointer<VipsImage>, label: String, box: Int) throws(ImageRejection)
        -> ImageVariant
    {
        var images: [UnsafeMutablePointer<VipsImage>?] = []
        defer { for image in images { meridian_vips_unref(image) } }
        var fitted: UnsafeMutablePointer<VipsImage>?
        guard meridian_vips_thumbnail_image(source, &fitted, Int32(box), Int32(box)) == 0, var image = fitted else {
            throw ImageRejection("resizing failed: \(Self.lastError())")
        }
        images.append(image)
        if vips_image_hasalpha(image) != 0 {
            var flat: UnsafeMutablePointer<VipsImage>?
            guard meridian_vips_flatten_white(image, &flat) == 0, let flat else {
                throw ImageRejection("flattening failed: \(Self.lastError())")
            }
            images.append(flat)
            image = flat
        }
        if vips_image_get_interpretation(image) != VIPS_INTERPRETATION_sRGB {
            var converted: UnsafeMutablePointer<VipsImage>?
            guard meridian_vips_srgb(image, &converted) == 0, let converted else {
                throw ImageRejection("colour conversion failed: \(Self.lastError())")
            }
            images.append(converted)
            image = converted
        }
        var padded: UnsafeMutablePointer<VipsImage>?
        guard meridian_vips_pad_white(image, &padded, Int32(box), Int32(box)) == 0, let padded else {
            throw ImageRejection("padding failed: \(Self.lastError())")
        }
        images.append(padded)
        var output: UnsafeMutableRawPointer?
        var length = 0
        guard meridian_vips_jpeg(padded, &output, &length, Int32(configuration.quality)) == 0, let output else {
            throw ImageRejection("JPEG encoding failed: \(Self.lastError())")
        }
        defer { g_free(output) }
        var webp: [UInt8]?
        if configuration.webp {
            var encoded: UnsafeMutableRawPointer?
            var size = 0
            guard meridian_vips_webp(padded, &encoded, &size, Int32(configuration.quality)) == 0, let encoded else {
                throw ImageRejection("WebP encoding failed: \(Self.lastError())")
            }
            defer { g_free(encoded) }
            webp = Array(UnsafeRawBufferPointer(start: encoded, count: size))
        }
        return ImageVariant(
            label: label, width: Int(vips_image_get_width(padded)), height: Int(vips_image_get_height(padded)),
            jpeg: Array(UnsafeRawBufferPointer(start: output, count: length)), webp: webp)
    }

    /// `jpegload_buffer` for libvips' `VipsForeignLoadJpegBuffer`.
    static func nickname(of className: String) -> String {
        guard let type = g_type_from_name(className) as GType?, type != 0,
            let nickname = vips_nickname_find(type)
        else { return className }
        return String(cString: nickname)
    }

    private static func lastError() -> String {
        let text = String(cString: vips_error_buffer()).trimmingCharacters(in: .whitespacesAndNewlines)
        return text.split(separator: "\n").first.map(String.init) ?? "unknown error"
    }

    /// How many bytes follow the end of a PNG (its `IEND` chunk) or a JPEG (the `EOI` after its scans); nil when
    /// none do or the format is another.
    static func trailingBytes(_ bytes: [UInt8]) -> Int? {
        if bytes.starts(with: [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]) {
            var offset = 8
            while offset + 12 <= bytes.count {
                let length = bytes[offset..<offset + 4].reduce(0) { $0 << 8 | Int($1) }
                let type = bytes[offset + 4..<offset + 8]
                let (end, overflow) = (offset + 12).addingReportingOverflow(length)
                guard !overflow, end <= bytes.count else { return nil }  // truncated: the decoder refuses it
                offset = end
                if type.elementsEqual("IEND".utf8) { return offset < bytes.count ? bytes.count - offset : nil }
            }
            return nil
        }
        if bytes.starts(with: [0xFF, 0xD8]) {
            var offset = 2
            // Segments up to the first scan; then entropy-coded data up to the next marker that is not a restart.
            while offset + 2 <= bytes.count {
                guard bytes[offset] == 0xFF else { return nil }
                let marker = bytes[offset + 1]
                if marker == 0xD9 { return offset + 2 < bytes.count ? bytes.count - offset - 2 : nil }
                guard offset + 4 <= bytes.count else { return nil }
                if marker == 0xFF {
                    offset += 1
                    continue
                }
                if (0xD0...0xD7).contains(marker) || marker == 0x01 {
                    offset += 2
                    continue
                }
                let length = Int(bytes[offset + 2]) << 8 | Int(bytes[offset + 3])
                offset += 2 + length
                if marker == 0xDA {
                    // Scan data: 0xFF is followed by 0x00 (a stuffed byte) or a restart marker inside it.
                    while offset + 1 < bytes.count {
                        if bytes[offset] == 0xFF, bytes[offset + 1] != 0x00, !(0xD0...0xD7).contains(bytes[offset + 1]) {
                            break
                        }
                        offset += 1
                    }
                }
            }
            return nil
        }
        return nil
    }
}
