import Foundation
import Logging
import MeridianContracts
import MeridianCore
import Metrics
import ServiceLifecycle

/// One analytics job as a service of the `analytics` role: its input topic read as the consumer group
/// `analytics-<job>`, its windows emitted to the results topic, the extra sinks and the SQL sink.
///
/// One instance runs a job at a time: it holds the job's lease (``SQLAnalyticsStore/acquire(job:owner:duration:now:)``)
/// and the others wait to take over when it stops or its lease runs out. That keeps the results exact whatever the
/// number of instances: one engine sees every partition of the input, so the watermark and the windows are those of a
/// single instance (docs/architecture.md, "Analytics").
///
/// Exactly-once effect: after each batch the results go to `analytics-results` (CloudEvent ids deterministic from job,
/// window, key and revision) and to the extra sinks (each idempotent), then the SQL sink, the provisional results of
/// the open windows and the checkpoint (the run's state and the input position after the last record counted, per
/// partition) in one transaction that also checks the lease, then the group's offsets. After a crash the next holder
/// restores the checkpoint and skips the records counted before (at or after a committed offset alike): a batch
/// replayed writes the same results again, which the sinks take once.
public struct AnalyticsService: Service {
    public struct Options: Sendable {
        /// How long a lease lasts without renewal (milliseconds); the holder renews it every third of that.
        public var leaseDuration: Int64 = 15_000
        /// This instance, as leases name it.
        public var owner: String
        /// Sinks besides the topic and the SQL table.
        public var sinks: [any AnalyticsSink] = []

        public init(owner: String) {
            self.owner = owner
        }
    }

    public let job: AnalyticsJob
    public let configuration: WindowEngine<Aggregate>.Configuration
    let options: Options
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
        job: AnalyticsJob, configuration: WindowEngine<Aggregate>.Configuration, options: Options,
        eventLog: any EventLog, store: SQLAnalyticsStore, topics: Topics, logger: Logger, metrics: any MetricsFactory,
        ready: @escaping @Sendable () async -> Void = {},
        clock: @escaping @Sendable () -> Int64 = { Int64(Date().timeIntervalSince1970 * 1000) }
    ) {
        self.job = job
        self.configuration = configuration
        self.options = options
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
        var waiting = false
        // A failure (the log or the store unreachable) starts again from the last checkpoint: the state in memory may
        // be ahead of what was saved, and counting from the checkpoint again is what keeps the sinks exact.
        while !Task.isCancelled && !Task.isShuttingDownGracefully {
            do {
                guard
                    let lease = try await store.acquire(
                        job: job.name, owner: options.owner, duration: options.leaseDuration, now: clock())
                else {
                    if !waiting {
                        logger.info(
                            "analytics job runs on another instance; this one takes over if it stops",
                            metadata: ["job": "\(job.name)"])
                        waiting = true
                    }
                    try await Task.sleep(for: .milliseconds(max(100, min(options.leaseDuration / 3, 2_000))))
                    continue
                }
                waiting = false
                logger.info("analytics job running here", metadata: ["job": "\(job.name)", "epoch": "\(lease.epoch)"])
                try await consume(lease)
                return
            } catch is CancellationError {
                return
            } catch let error as AnalyticsLeaseLost {
                logger.warning("\(error); this instance stops counting it", metadata: ["job": "\(job.name)"])
            } catch {
                logger.warning(
                    "analytics job stopped by an error; it resumes from its checkpoint",
                    metadata: ["job": "\(job.name)", "error": "\(error)"])
                try? await Task.sleep(for: .seconds(1))
            }
        }
    }

    private func consume(_ lease: AnalyticsLease) async throws {
        let consumer = try await eventLog.makeConsumer(
            ConsumerOptions(group: "analytics-\(job.name)", topics: [job.topic(topics)], fromBeginning: true))
        do {
            try await cancelWhenGracefulShutdown {
                var run = AnalyticsRun(job: job, configuration: configuration)
                run.tracksProvisional = true
                var positions: [String: Int64] = [:]
                if let checkpoint = try await store.checkpoint(job: job.name) {
                    try run.restore(checkpoint.state)
                    positions = checkpoint.positions
                }
                let topic = job.topic(topics)
                let partitions = try await eventLog.describeTopics().first { $0.name == topic }?.partitions ?? []
                run.expect(partitions: partitions.map { Int($0.id) }, now: clock())
                var renewed = clock()
                while !Task.isCancelled {
                    let records = try await consumer.poll(maxRecords: 500, timeout: .milliseconds(500))
                    if try await handle(records, run: &run, positions: &positions, consumer: consumer, lease: lease) {
                        renewed = clock()
                    } else if clock() - renewed >= options.leaseDuration / 3 {
                        try await store.renew(lease, duration: options.leaseDuration, now: clock())
                        renewed = clock()
                    }
                }
            }
        } catch {
            await consumer.close()
            if Task.isCancelled || Task.isShuttingDownGracefully { await release(lease) }
            throw error
        }
        await consumer.close()
        await release(lease)
    }

    /// Hands the job to a waiting instance at once rather than after the lease runs out.
    private func release(_ lease: AnalyticsLease) async {
        do {
            try await uncancelled { try await store.release(lease) }
        } catch {
            logger.warning("could not release the analytics lease", metadata: ["job": "\(job.name)", "error": "\(error)"])
        }
    }

    /// Counts a batch and writes what it gives; true when it saved a checkpoint (which renews the lease).
    private func handle(
        _ records: [ConsumedRecord], run: inout AnalyticsRun, positions: inout [String: Int64],
        consumer: any EventLogConsumer, lease: AnalyticsLease
    ) async throws -> Bool {
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
        guard counted || !results.isEmpty else { return false }
        let outgoing = try results.map(record) + deadLetters
        if !outgoing.isEmpty {
            for outcome in await eventLog.append(outgoing) {
                if case .failure(let error) = outcome { throw error }
            }
        }
        if !results.isEmpty {
            for sink in options.sinks { try await sink.write(results) }
        }
        try await store.save(
            job: job.name, results: results, open: run.provisional(now: now),
            checkpoint: AnalyticsCheckpoint(state: try run.snapshot(), positions: positions), lease: lease,
            leaseDuration: options.leaseDuration, now: Date(timeIntervalSince1970: Double(now) / 1000))
        if !records.isEmpty { try await consumer.commit(records) }
        return true
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
