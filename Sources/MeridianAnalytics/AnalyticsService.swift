import Foundation
import Logging
import MeridianContracts
import MeridianCore
import Metrics
import ServiceLifecycle

/// One analytics job as a service of the `analytics` role: its input topic read as the consumer group
/// `analytics-<job>`, its windows emitted to the results topic and the SQL sink.
///
/// Exactly-once effect: after each batch the results go to `analytics-results` (CloudEvent ids deterministic from job,
/// window, key and revision), then the SQL sink and the checkpoint (the run's state and the input position after the
/// last record counted, per partition) in one transaction, then the group's offsets. After a crash the run restores
/// its checkpoint and skips the records it counted before (at or after a committed offset alike): a batch replayed
/// writes the same results again, which the sinks take once.
public struct AnalyticsService: Service {
    public let job: AnalyticsJob
    public let configuration: WindowEngine<Aggregate>.Configuration
    let eventLog: any EventLog
    let store: SQLAnalyticsStore
    let topics: Topics
    let logger: Logger
    let ready: @Sendable () async -> Void
    let clock: @Sendable () -> Int64
    let events: Counter
    let late: Counter
    let lag: Gauge

    public init(
        job: AnalyticsJob, configuration: WindowEngine<Aggregate>.Configuration, eventLog: any EventLog,
        store: SQLAnalyticsStore, topics: Topics, logger: Logger, metrics: any MetricsFactory,
        ready: @escaping @Sendable () async -> Void = {},
        clock: @escaping @Sendable () -> Int64 = { Int64(Date().timeIntervalSince1970 * 1000) }
    ) {
        self.job = job
        self.configuration = configuration
        self.eventLog = eventLog
        self.store = store
        self.topics = topics
        self.logger = logger
        self.ready = ready
        self.clock = clock
        events = Counter(label: "meridian_analytics_events_total", dimensions: [("job", job.name)], factory: metrics)
        late = Counter(label: "meridian_analytics_late_events_total", dimensions: [("job", job.name)], factory: metrics)
        lag = Gauge(label: "meridian_analytics_watermark_lag_seconds", dimensions: [("job", job.name)], factory: metrics)
    }

    public func run() async throws {
        await ready()
        // A failure (the log or the store unreachable) starts again from the last checkpoint: the state in memory may
        // be ahead of what was saved, and counting from the checkpoint again is what keeps the sinks exact.
        while !Task.isCancelled && !Task.isShuttingDownGracefully {
            do {
                try await consume()
                return
            } catch is CancellationError {
                return
            } catch {
                logger.warning(
                    "analytics job stopped by an error; it resumes from its checkpoint",
                    metadata: ["job": "\(job.name)", "error": "\(error)"])
                try? await Task.sleep(for: .seconds(1))
            }
        }
    }

    private func consume() async throws {
        let consumer = try await eventLog.makeConsumer(
            ConsumerOptions(group: "analytics-\(job.name)", topics: [job.topic(topics)], fromBeginning: true))
        do {
            try await cancelWhenGracefulShutdown {
                var run = AnalyticsRun(job: job, configuration: configuration)
                var positions: [String: Int64] = [:]
                if let checkpoint = try await store.checkpoint(job: job.name) {
                    try run.restore(checkpoint.state)
                    positions = checkpoint.positions
                }
                while !Task.isCancelled {
                    let records = try await consumer.poll(maxRecords: 500, timeout: .milliseconds(500))
                    try await handle(records, run: &run, positions: &positions, consumer: consumer)
                }
            }
        } catch {
            await consumer.close()
            throw error
        }
        await consumer.close()
    }

    private func handle(
        _ records: [ConsumedRecord], run: inout AnalyticsRun, positions: inout [String: Int64],
        consumer: any EventLogConsumer
    ) async throws {
        let now = clock()
        var results: [WindowResult] = []
        var deadLetters: [EventRecord] = []
        var counted = false
        for record in records {
            let position = "\(record.topic)/\(record.partition)"
            // Counted before the checkpoint: skipped, so a redelivered batch changes nothing.
            if let next = positions[position], record.offset < next { continue }
            positions[position] = record.offset + 1
            counted = true
            guard let event = CloudEvent(record: record) else { continue }
            let lateBefore = run.late
            let countedBefore = run.counted
            results += run.observe(event, partition: Int(record.partition), now: now)
            if run.counted > countedBefore { events.increment() }
            if run.late > lateBefore {
                late.increment()
                deadLetters.append(
                    DeadLetter.record(
                        for: EventRecord(topic: record.topic, key: record.key, value: record.value, headers: record.headers),
                        topics: topics, error: "later than the allowed lateness of job \(job.name)",
                        errorClass: "validation", attempts: 1))
            }
        }
        results += run.advance(now: now)
        lag.record(Double(run.engine.lag(now: now)) / 1000)
        guard counted || !results.isEmpty else { return }
        let outgoing = try results.map(record) + deadLetters
        if !outgoing.isEmpty {
            for outcome in await eventLog.append(outgoing) {
                if case .failure(let error) = outcome { throw error }
            }
        }
        try await store.save(
            job: job.name, results: results, checkpoint: AnalyticsCheckpoint(state: try run.snapshot(), positions: positions))
        if !records.isEmpty { try await consumer.commit(records) }
    }

    /// `analytics.window` on the results topic, keyed `job/window_start/key`, its id the same plus the revision.
    func record(_ result: WindowResult) throws -> EventRecord {
        let key = "\(result.job)/\(result.windowStart)/\(result.key)"
        let event = CloudEvent(
            id: "\(key)/\(result.revision)", source: "/meridian/\(AnalyticsEvents.role)", type: AnalyticsEvents.window.rawValue,
            time: Timestamp.parse(result.emittedAt) ?? Date(), data: Array(try JSONEncoder().encode(result)))
        return event.record(topic: topics.analyticsResults, aggregateID: key)
    }
}
