import Foundation
import Metrics
import Prometheus

/// The Prometheus factory Meridian uses, with histogram buckets fitted to request latencies.
public func makeMetricsFactory(registry: PrometheusCollectorRegistry) -> PrometheusMetricsFactory {
    var factory = PrometheusMetricsFactory(registry: registry)
    factory.defaultDurationHistogramBuckets = [
        .microseconds(500), .milliseconds(1), .milliseconds(2), .milliseconds(5), .milliseconds(10),
        .milliseconds(25), .milliseconds(50), .milliseconds(100), .milliseconds(250), .milliseconds(500),
        .seconds(1), .seconds(2.5), .seconds(5), .seconds(10),
    ]
    return factory
}

/// Resident memory of this process, from /proc: `(current, peak)` in bytes.
public func residentMemory() -> (current: Int, peak: Int)? {
    guard let status = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8) else { return nil }
    func kilobytes(_ field: String) -> Int? {
        guard let line = status.split(separator: "\n").first(where: { $0.hasPrefix(field + ":") }) else { return nil }
        return line.split(separator: " ").compactMap { Int($0) }.first.map { $0 * 1024 }
    }
    guard let current = kilobytes("VmRSS"), let peak = kilobytes("VmHWM") else { return nil }
    return (current, peak)
}
