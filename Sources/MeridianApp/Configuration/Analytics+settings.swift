import MeridianAnalytics

/// The settings of the analytics role (`analytics.*`).
public struct AnalyticsSettings: Sendable {
    /// The windows of every job.
    public var windows: WindowEngine<Aggregate>.Configuration
    /// How long an instance holds a job without renewing it (milliseconds): how soon another takes over after a crash.
    public var leaseDuration: Int64
    /// Whether results also go to object storage (`analytics/<job>/date=…/…json`).
    public var objectSink: Bool

    init(reader config: SettingsReader) throws {
        windows = WindowEngine<Aggregate>.Configuration()
        windows.size = Int64(try config.int("windowSeconds", default: 60, in: 1...86_400)) * 1000
        windows.outOfOrderness = Int64(try config.int("outOfOrdernessSeconds", default: 5, in: 0...3_600)) * 1000
        windows.allowedLateness = Int64(try config.int("allowedLatenessSeconds", default: 60, in: 0...86_400)) * 1000
        windows.idleTimeout = Int64(try config.int("idleTimeoutSeconds", default: 30, in: 1...86_400)) * 1000
        leaseDuration = Int64(try config.int("leaseSeconds", default: 15, in: 2...3_600)) * 1000
        objectSink = try config.bool("objectSink", default: true)
    }
}
