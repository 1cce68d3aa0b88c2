/// `analytics.window` (CONTRACTS.md): one window's result of an analytics job, on `analytics-results`, keyed
/// `job/window_start/key`. Its data is `MeridianAnalytics.WindowResult`.
public enum AnalyticsEvents {
    public static let window = EventType(rawValue: "analytics.window")
    public static let role = "analytics"
}
