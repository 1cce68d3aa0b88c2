import Foundation
import Logging
import MeridianCore
import Metrics
import SQLKit
import ServiceLifecycle
import Synchronization

/// The transactional outbox: events are written in the same transaction as the state change, and a
/// relay publishes them to the event log afterwards, in order, retrying until the log has them.
///
/// So no state change exists without its event, and no event without its state change.
public enum Outbox {
    /// The outbox table (shared by the services of one database; each row names its service).
    public static let migrations: [Migration] = [
        Migration(
            version: 1, name: "outbox",
            statements: [
                "sqlite": [
                    """
                    CREATE TABLE outbox (
                        sequence INTEGER PRIMARY KEY AUTOINCREMENT, service TEXT NOT NULL, topic TEXT NOT NULL,
                        record_key BLOB, record_value BLOB NOT NULL, headers BLOB NOT NULL, created_at TEXT NOT NULL,
                        attempts INTEGER NOT NULL DEFAULT 0, last_error TEXT)
                    """,
                    "CREATE INDEX outbox_service_sequence ON outbox (service, sequence)",
                ],
                "postgresql": [
                    """
                    CREATE TABLE outbox (
                        sequence BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY, service TEXT NOT NULL, topic TEXT NOT NULL,
                        record_key BYTEA, record_value BYTEA NOT NULL, headers BYTEA NOT NULL, created_at TEXT NOT NULL,
                        attempts INTEGER NOT NULL DEFAULT 0, last_error TEXT)
                    """,
                    "CREATE INDEX outbox_service_sequence ON outbox (service, sequence)",
                ],
            ])
    ]

    /// Adds records to the outbox of `service`, inside the caller's transaction; once that commits, the
    /// service's relay in this process is woken (``OutboxActivity``).
    public static func enqueue(_ records: [EventRecord], service: String, in database: any SQLDatabase) async throws {
        OutboxActivity.written(by: service)
        let now = Timestamp.format(Date())
        for record in records {
            try await database.raw(
                """
                INSERT INTO outbox (service, topic, record_key, record_value, headers, created_at)
                VALUES (\(bind: service), \(bind: record.topic), \(bind: record.key.map { Data($0) }),
                        \(bind: Data(record.value)), \(bind: Data(HeaderCoding.encode(record.headers))), \(bind: now))
                """
            ).run()
        }
    }

    /// Records of `service` not published yet.
    public static func pendingCount(service: String, in database: any SQLDatabase) async throws -> Int {
        let row = try await database.raw("SELECT COUNT(*) AS pending FROM outbox WHERE service = \(bind: service)").first()
        return try row?.decode(column: "pending", as: Int.self) ?? 0
    }
}

/// Wakes a service's outbox relay once a transaction that wrote to its outbox has committed, so the relay
/// neither polls on a short timer nor queries after every unrelated commit.
///
/// ``SQLStore`` transactions run their body with a task-local collector; ``Outbox/enqueue(_:service:in:)``
/// notes its service there; after the commit the transaction signals each noted service. Rows written by
/// another process are seen by the relay's idle poll.
public enum OutboxActivity {
    final class Collector: Sendable {
        let services = Mutex<Set<String>>([])
    }

    @TaskLocal static var collector: Collector?
    private static let signals = Mutex<[String: ChangeSignal]>([:])

    /// The signal of `service`'s relay.
    public static func signal(for service: String) -> ChangeSignal {
        signals.withLock { signals in
            if let signal = signals[service] { return signal }
            let signal = ChangeSignal()
            signals[service] = signal
            return signal
        }
    }

    static func written(by service: String) {
        if let collector { collector.services.withLock { _ = $0.insert(service) } }
    }

    /// Runs a transaction (`body` commits when it returns) and then wakes the relays of the services it wrote for.
    static func signalAfterCommit<Result>(_ body: () async throws -> Result) async throws -> Result {
        let collector = Collector()
        let result = try await $collector.withValue(collector) { try await body() }
        for service in collector.services.withLock({ $0 }) { signal(for: service).signal() }
        return result
    }
}

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
                let signal = OutboxActivity.signal(for: service)
                let seen = signal.version
                let published = try await publishOnce()
                if published == 0 { await signal.wait(after: seen, timeout: configuration.idleInterval) }
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
        let remaining = try await store.withTransaction { database -> Int in
            for sequence in finished {
                try await database.raw("DELETE FROM outbox WHERE sequence = \(bind: sequence)").run()
            }
            if let failed {
                try await database.raw(
                    """
                    UPDATE outbox SET attempts = attempts + 1, last_error = \(bind: failed.error.description)
                    WHERE sequence = \(bind: failed.row.sequence)
                    """
                ).run()
            }
            return try await Outbox.pendingCount(service: service, in: database)
        }
        pending.record(remaining)
        if let failed { throw failed.error }
        return finished.count
    }
}

/// The inbox: a consumer records each event id it applied in the same transaction as the effects, so
/// a redelivered event changes nothing.
public enum Inbox {
    public static let migrations: [Migration] = [
        Migration(
            version: 1, name: "inbox",
            [
                """
                CREATE TABLE inbox (
                    consumer TEXT NOT NULL, event_id TEXT NOT NULL, processed_at TEXT NOT NULL,
                    PRIMARY KEY (consumer, event_id))
                """
            ])
    ]

    /// Records `eventID` for `consumer` in the caller's transaction; false when it was already applied.
    public static func claim(_ eventID: String, consumer: String, in database: any SQLDatabase) async throws -> Bool {
        let rows = try await database.raw(
            """
            INSERT INTO inbox (consumer, event_id, processed_at)
            VALUES (\(bind: consumer), \(bind: eventID), \(bind: Timestamp.format(Date())))
            ON CONFLICT (consumer, event_id) DO NOTHING RETURNING event_id
            """
        ).all()
        return !rows.isEmpty
    }
}
