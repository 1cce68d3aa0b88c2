import Foundation
import Logging
import MeridianCore
import MeridianStorage
import Metrics
import SQLKit
import ServiceLifecycle

/// Publishes a service's outbox to the event log: oldest first, a batch at a time, deleting each record
/// once the log has it durably. A record the log refuses for good goes to `events-dlq`; on any other
/// failure the relay stops and retries the same records later, so order is kept.
public struct OutboxRelay: Service {
    public struct Configuration: Sendable {
        /// Records published per round. Default 200.
        public var batchSize = 200
        /// Longest pause between rounds when the outbox is empty; a commit in this process ends it early.
        /// Default 500 ms (it also bounds how late rows written by another process are seen).
        public var idleInterval: Duration = .milliseconds(500)
        /// Pause after a failed round. Default 1 s.
        public var retryInterval: Duration = .seconds(1)

        public init() {}
    }

    let store: any SQLStore
    let eventLog: any EventLog
    let service: String
    let topics: Topics
    let configuration: Configuration
    let logger: Logger
    let pending: Gauge
    let ready: @Sendable () async -> Void

    /// - Parameter ready: awaited before the first round (for example until the migrations ran).
    public init(
        store: any SQLStore,
        eventLog: any EventLog,
        service: String,
        topics: Topics,
        configuration: Configuration = .init(),
        logger: Logger,
        metrics: any MetricsFactory = MetricsSystem.factory,
        ready: @escaping @Sendable () async -> Void = {}
    ) {
        self.ready = ready
        self.store = store
        self.eventLog = eventLog
        self.service = service
        self.topics = topics
        self.configuration = configuration
        self.logger = logger
        self.pending = Gauge(label: "meridian_outbox_pending", dimensions: [("service", service)], factory: metrics)
    }

    public func run() async throws {
        await cancelWhenGracefulShutdown { await ready() }
        while !Task.isCancelled && !Task.isShuttingDownGracefully {
            do {
                let signal = store.commits.signal(for: service)
                let seen = signal.version
                // A short batch took everything committed before `seen`: wait for the next commit (one that came
                // meanwhile has moved the signal on already, so the wait returns at once).
                let published = try await publishOnce()
                if published < configuration.batchSize {
                    await signal.wait(after: seen, timeout: configuration.idleInterval)
                }
            } catch  where error is CancellationError || Task.isCancelled {
                return  // stopping: what was not published stays in the outbox
            } catch {
                logger.warning("outbox relay round failed", metadata: ["service": "\(service)", "error": "\(error)"])
                try? await Task.sleep(for: configuration.retryInterval)
            }
        }
    }

    private struct Row: Sendable {
        var sequence: Int
        var record: EventRecord
        var attempts: Int
    }

    /// Publishes one batch; returns how many records left the outbox.
    @discardableResult
    public func publishOnce() async throws -> Int {
        let service = self.service
        let batchSize = configuration.batchSize
        let rows = try await store.withDatabase { database -> [Row] in
            try await database.raw(
                """
                SELECT sequence, topic, record_key, record_value, headers, attempts FROM outbox
                WHERE service = \(bind: service) ORDER BY sequence LIMIT \(bind: batchSize)
                """
            ).all().map { row in
                Row(
                    sequence: try row.decode(column: "sequence", as: Int.self),
                    record: EventRecord(
                        topic: try row.decode(column: "topic", as: String.self),
                        key: try row.decode(column: "record_key", as: Data?.self).map { Array($0) },
                        value: Array(try row.decode(column: "record_value", as: Data.self)),
                        headers: HeaderCoding.decode(Array(try row.decode(column: "headers", as: Data.self)))),
                    attempts: try row.decode(column: "attempts", as: Int.self))
            }
        }
        guard !rows.isEmpty else {
            pending.record(0)
            return 0
        }
        let results = await eventLog.append(rows.map(\.record))
        var done: [Int] = []
        var failure: (row: Row, error: EventLogError)?
        for (row, result) in zip(rows, results) {
            switch result {
            case .success:
                done.append(row.sequence)
            case .failure(let error) where error.isPermanentForRecord:
                let dead = DeadLetter.record(
                    for: row.record, topics: topics, error: error.message, errorClass: error.deadLetterClass,
                    attempts: row.attempts + 1)
                if case .success = await eventLog.append([dead])[0] {
                    logger.error("outbox record dead-lettered", metadata: ["service": "\(service)", "error": "\(error)"])
                    done.append(row.sequence)
                } else {
                    failure = (row, error)
                }
            case .failure(let error):
                failure = (row, error)
            }
            if failure != nil { break }
        }
        let finished = done
        let failed = failure
        let full = rows.count == batchSize
        let remaining = try await store.withTransaction { database -> Int? in
            if !finished.isEmpty {
                try await database.raw("DELETE FROM outbox WHERE sequence IN (\(binds: finished))").run()
            }
            if let failed {
                try await database.raw(
                    """
                    UPDATE outbox SET attempts = attempts + 1, last_error = \(bind: failed.error.description)
                    WHERE sequence = \(bind: failed.row.sequence)
                    """
                ).run()
            }
            // A short batch all published left nothing behind but what was written since; the next round counts that.
            guard full || failed != nil else { return nil }
            return try await Outbox.pendingCount(service: service, in: database)
        }
        pending.record(remaining ?? 0)
        if let failed { throw failed.error }
        return finished.count
    }
}
