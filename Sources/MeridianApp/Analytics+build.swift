import Foundation
import MeridianAnalytics
import MeridianCore
import MeridianS3
import MeridianStorage

/// The analytics role: its API, and one service per job (`image-bytes`, `orders`, `user-spend`), each its own
/// consumer group and lease, once the migrations ran.
public func buildAnalytics(_ context: CommerceContext) throws -> CommerceParts {
    var parts = CommerceParts()
    let settings = context.settings.analytics
    let store = SQLAnalyticsStore(store: context.store)
    parts.routes.append(AnalyticsController(store: store))
    var options = AnalyticsService.Options(
        owner:
            "\(ProcessInfo.processInfo.hostName)-\(ProcessInfo.processInfo.processIdentifier)-\(RandomID.uuidString().prefix(8))")
    options.leaseDuration = settings.leaseDuration
    if settings.objectSink, let objects = context.objects { options.sinks.append(ObjectAnalyticsSink(objects: objects)) }
    if let dynamo = settings.dynamoDB {
        options.sinks.append(
            DynamoDBAnalyticsSink(
                client: try DynamoDBClient(configuration: dynamo.client, credentialSource: dynamo.credentials.source()),
                table: dynamo.table, createTable: dynamo.createTable))
    }
    for job in AnalyticsJob.all {
        parts.workers.append(
            AnalyticsService(
                job: job, configuration: settings.windows, options: options, eventLog: context.eventLog, store: store,
                topics: context.topics, logger: context.logger, metrics: context.metrics, ready: context.ready))
    }
    return parts
}
