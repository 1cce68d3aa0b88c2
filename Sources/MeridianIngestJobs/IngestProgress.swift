import Foundation

/// Where a running job is, as the runner reports it after each durable batch.
public struct IngestProgress: Sendable, Hashable {
    public var jobID: IngestJobID
    /// The byte offset reached (the checkpoint), and the source's size.
    public var bytesDone: Int64
    public var bytesTotal: Int64
    public var rowsRead: Int
    public var rowsPublished: Int
    public var rowsRejected: Int
    /// Bytes and rows read by this run (a resumed job started at its checkpoint), and how long it has run.
    public var bytesThisRun: Int64
    public var rowsThisRun: Int
    public var elapsed: Duration

    public init(
        jobID: IngestJobID, bytesDone: Int64, bytesTotal: Int64, rowsRead: Int, rowsPublished: Int, rowsRejected: Int,
        bytesThisRun: Int64, rowsThisRun: Int, elapsed: Duration
    ) {
        self.jobID = jobID
        self.bytesDone = bytesDone
        self.bytesTotal = bytesTotal
        self.rowsRead = rowsRead
        self.rowsPublished = rowsPublished
        self.rowsRejected = rowsRejected
        self.bytesThisRun = bytesThisRun
        self.rowsThisRun = rowsThisRun
        self.elapsed = elapsed
    }
}

/// Formats ``IngestProgress`` without I/O: a bar line for a terminal (redrawn in place with `\r`), a plain line
/// for logs and pipes. Rates come from this run alone; every figure is guarded against zero, negative and
/// non-finite values.
public enum IngestProgressFormatter {
    /// The fraction of the bytes done, 0...1 (1 for an empty source).
    public static func fraction(_ progress: IngestProgress) -> Double {
        guard progress.bytesTotal > 0 else { return 1 }
        return min(max(Double(max(progress.bytesDone, 0)) / Double(progress.bytesTotal), 0), 1)
    }

    /// Rows per second in this run, or nil before any time passed.
    public static func rowsPerSecond(_ progress: IngestProgress) -> Double? {
        let seconds = seconds(progress.elapsed)
        guard seconds > 0 else { return nil }
        return Double(max(progress.rowsThisRun, 0)) / seconds
    }

    /// The time left at this run's byte rate, or nil when it cannot be told yet.
    public static func eta(_ progress: IngestProgress) -> Duration? {
        let seconds = seconds(progress.elapsed)
        guard seconds > 0, progress.bytesThisRun > 0 else { return nil }
        let rate = Double(progress.bytesThisRun) / seconds
        let left = Double(max(progress.bytesTotal - min(progress.bytesDone, progress.bytesTotal), 0)) / rate
        guard left.isFinite, left < 1e9 else { return nil }
        return .milliseconds(Int64(left * 1000))
    }

    /// `[#########.........]  45.0%  12,345 rows  1,234 rows/s  ETA 0:42  (3 rejected)`, `width` columns for the bar.
    public static func bar(_ progress: IngestProgress, width: Int = 30) -> String {
        let width = min(max(width, 5), 200)
        let filled = Int((fraction(progress) * Double(width)).rounded(.down))
        let bar = String(repeating: "#", count: filled) + String(repeating: ".", count: width - filled)
        return "[\(bar)] " + summary(progress)
    }

    /// `job 1b2c…: 45.0% of 10.0 MB, 12345 rows (12340 published, 5 rejected), 1234 rows/s, ETA 0:42`.
    public static func plain(_ progress: IngestProgress) -> String {
        "job \(progress.jobID): " + summary(progress)
    }

    /// The bar on a terminal, the plain line otherwise.
    public static func line(_ progress: IngestProgress, terminal: Bool, width: Int = 30) -> String {
        terminal ? bar(progress, width: width) : plain(progress)
    }

    static func summary(_ progress: IngestProgress) -> String {
        let percent = String(format: "%5.1f%%", fraction(progress) * 100)
        var text = "\(percent) of \(bytes(progress.bytesTotal)), \(progress.rowsRead) rows"
        text += " (\(progress.rowsPublished) published, \(progress.rowsRejected) rejected)"
        if let rate = rowsPerSecond(progress) { text += ", \(Int(rate.rounded())) rows/s" }
        text += ", ETA " + (eta(progress).map(clock) ?? "--:--")
        return text
    }

    /// `1.5 MB`-style sizes (powers of 1,000).
    static func bytes(_ count: Int64) -> String {
        let count = Double(max(count, 0))
        for (limit, unit) in [(1e12, "TB"), (1e9, "GB"), (1e6, "MB"), (1e3, "kB")] where count >= limit {
            return String(format: "%.1f", count / limit) + " " + unit
        }
        return "\(Int(count)) B"
    }

    /// `m:ss` or `h:mm:ss`.
    static func clock(_ duration: Duration) -> String {
        let total = max(duration.components.seconds, 0)
        let (hours, rest) = total.quotientAndRemainder(dividingBy: 3600)
        let (minutes, seconds) = rest.quotientAndRemainder(dividingBy: 60)
        let ss = seconds < 10 ? "0\(seconds)" : "\(seconds)"
        if hours == 0 { return "\(minutes):\(ss)" }
        return "\(hours):\(minutes < 10 ? "0" : "")\(minutes):\(ss)"
    }

    static func seconds(_ duration: Duration) -> Double {
        let (seconds, attoseconds) = duration.components
        let value = Double(seconds) + Double(attoseconds) / 1e18
        return value.isFinite && value > 0 ? value : 0
    }
}
