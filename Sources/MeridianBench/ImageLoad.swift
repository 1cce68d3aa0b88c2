import CVips
import Foundation
import MeridianCore
import MeridianImages
import Synchronization

#if canImport(Glibc)
    import Glibc
#endif

/// `meridian bench images`: source images per CPU-second through ``ImageProcessor`` (all three variants), and in the
/// same run libvips' own `vipsthumbnail` making the same three sizes, for the ratio.
public enum ImageLoad {
    public struct Result: Sendable {
        public var images: Int
        public var seconds: Double
        /// User + system CPU time the work took.
        public var cpuSeconds: Double
        public var imagesPerSecond: Double { Double(images) / max(seconds, 0.001) }
        /// Images per second of one core busy with them: the figure that compares across machines.
        public var imagesPerCoreSecond: Double { Double(images) / max(cpuSeconds, 0.001) }
    }

    /// A `width` × `height` JPEG (quality 85) of gradients with fine noise: at 2725 × 2225 about 740 KB, near one bit
    /// per pixel, as a photo of that size (the decoder's work grows with the compressed size).
    public static func sampleJPEG(width: Int, height: Int) -> [UInt8] {
        var pixels = [UInt8](repeating: 0, count: width * height * 3)
        var seed: UInt32 = 2_463_534_242
        for y in 0..<height {
            for x in 0..<width {
                seed ^= seed << 13
                seed ^= seed >> 17
                seed ^= seed << 5
                let noise = Int(seed & 7)
                let offset = (y * width + x) * 3
                pixels[offset] = UInt8((x * 255 / width + noise) & 255)
                pixels[offset + 1] = UInt8((y * 255 / height + noise) & 255)
                pixels[offset + 2] = UInt8(((x + y) / 7 + noise) & 255)
            }
        }
        let image = pixels.withUnsafeBytes {
            vips_image_new_from_memory_copy($0.baseAddress, $0.count, Int32(width), Int32(height), 3, VIPS_FORMAT_UCHAR)
        }
        defer { meridian_vips_unref(image) }
        var buffer: UnsafeMutableRawPointer?
        var length = 0
        guard let image, meridian_vips_jpeg_keep(image, &buffer, &length, 85) == 0, let buffer else { return [] }
        defer { g_free(buffer) }
        return Array(UnsafeRawBufferPointer(start: buffer, count: length))
    }

    /// `threads` threads processing `jpeg` again and again for `duration`; also the most resident memory seen
    /// meanwhile (`residentBytes` sampled every 50 ms).
    public static func run(
        _ processor: ImageProcessor, jpeg: [UInt8], threads: Int, duration: Duration,
        residentBytes: @escaping @Sendable () -> Int
    ) -> (Result, Int) {
        let peak = Atomic<Int>(residentBytes())
        let sampling = Atomic<Bool>(true)
        let sampler = Thread {
            while sampling.load(ordering: .relaxed) {
                peak.max(residentBytes(), ordering: .relaxed)
                Thread.sleep(forTimeInterval: 0.05)
            }
        }
        sampler.start()
        defer { sampling.store(false, ordering: .relaxed) }
        return (measure(processor, jpeg: jpeg, threads: threads, duration: duration), peak.load(ordering: .relaxed))
    }

    private static func measure(_ processor: ImageProcessor, jpeg: [UInt8], threads: Int, duration: Duration) -> Result {
        let deadline = ContinuousClock.now.advanced(by: duration)
        let total = Atomic<Int>(0)
        let cpuBefore = CPUTime.process()
        let start = ContinuousClock.now
        DispatchQueue.concurrentPerform(iterations: threads) { _ in
            var done = 0
            while ContinuousClock.now < deadline {
                if (try? processor.process(jpeg, contentType: "image/jpeg"))?.count == processor.configuration.sizes.count {
                    done += 1
                }
            }
            total.add(done, ordering: .relaxed)
        }
        let seconds = start.duration(to: .now).timeInterval
        return Result(
            images: total.load(ordering: .relaxed), seconds: seconds, cpuSeconds: CPUTime.process() - cpuBefore)
    }

    /// `vipsthumbnail` making the three sizes of the JPEG at `path` (three runs per source image, each decoding it
    /// with shrink-on-load), `threads` at a time, for `duration`. Nil when `vipsthumbnail` is not installed.
    public static func vipsthumbnail(path: String, sizes: [Int], threads: Int, duration: Duration) -> Result? {
        let output = NSTemporaryDirectory() + "meridian-bench-vips-\(UUID().uuidString)"
        try? FileManager.default.createDirectory(atPath: output, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: output) }
        let deadline = ContinuousClock.now.advanced(by: duration)
        let total = Atomic<Int>(0)
        let failed = Atomic<Bool>(false)
        let cpuBefore = CPUTime.children()
        let start = ContinuousClock.now
        DispatchQueue.concurrentPerform(iterations: threads) { thread in
            var done = 0
            while ContinuousClock.now < deadline, !failed.load(ordering: .relaxed) {
                for size in sizes {
                    let process = Process()
                    process.executableURL = URL(fileURLWithPath: "/usr/bin/vipsthumbnail")
                    process.arguments = [path, "--size", "\(size)x\(size)", "-o", "\(output)/t\(thread)_\(size).jpg[Q=85,strip]"]
                    guard (try? process.run()) != nil else {
                        failed.store(true, ordering: .relaxed)
                        break
                    }
                    process.waitUntilExit()
                    if process.terminationStatus != 0 { failed.store(true, ordering: .relaxed) }
                }
                if !failed.load(ordering: .relaxed) { done += 1 }
            }
            total.add(done, ordering: .relaxed)
        }
        guard !failed.load(ordering: .relaxed) else { return nil }
        let seconds = start.duration(to: .now).timeInterval
        return Result(
            images: total.load(ordering: .relaxed), seconds: seconds,
            cpuSeconds: CPUTime.children() - cpuBefore)
    }
}
