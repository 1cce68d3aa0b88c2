import MeridianAnalytics
import MeridianStorage

/// The analytics role: one service per job (`image-bytes`, `orders`, `user-spend`), each its own consumer group,
/// once the migrations ran.
public func buildAnalytics(_ context: CommerceContext) -> CommerceParts {
    var parts = CommerceParts()
    let store = SQLAnalyticsStore(store: context.store)
    for job in AnalyticsJob.all {
        parts.workers.append(
            AnalyticsService(
                job: job, configuration: context.settings.analytics.windows, eventLog: context.eventLog, store: store,
                topics: context.topics, logger: context.logger, metrics: context.metrics, ready: context.ready))
    }
    return parts
}
