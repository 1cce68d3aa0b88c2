import Logging
import MeridianEventLog
import Metrics
import ServiceLifecycle

/// `meridian_eventlog_consumer_lag{topic, group}` for the embedded log, which has no client statistics to read it
/// from (with Kafka, librdkafka's statistics feed the same gauge): every `interval`, each group's backlog per topic.
struct ConsumerLagReporter: Service {
    let log: EmbeddedEventLog
    let interval: Duration
    let factory: any MetricsFactory
    let logger: Logger

    private struct Key: Hashable {
        var group: String
        var topic: String
    }

    func run() async throws {
        var gauges: [Key: Gauge] = [:]
        while !Task.isCancelled && !Task.isShuttingDownGracefully {
            do {
                for lag in try await log.consumerLag() {
                    let key = Key(group: lag.group, topic: lag.topic)
                    let gauge =
                        gauges[key]
                        ?? Gauge(
                            label: "meridian_eventlog_consumer_lag",
                            dimensions: [("topic", lag.topic), ("group", lag.group)], factory: factory)
                    gauges[key] = gauge
                    gauge.record(lag.records)
                }
            } catch {
                logger.debug("consumer lag not read", metadata: ["error": "\(error)"])
            }
            try? await cancelWhenGracefulShutdown { try await Task.sleep(for: interval) }
        }
    }
}
