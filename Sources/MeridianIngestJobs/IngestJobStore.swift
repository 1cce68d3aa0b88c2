import Foundation
import MeridianCore
import MeridianStorage
import SQLKit

/// A job to create: the store fills in its id, status and times.
public struct NewIngestJob: Sendable, Hashable {
    public var source: IngestSource
    public var sourceVersion: IngestSourceVersion
    public var options: IngestJobOptions
    public var fingerprint: String
    public var dataset: DatasetPeriod?

    public init(
        source: IngestSource, sourceVersion: IngestSourceVersion, options: IngestJobOptions, fingerprint: String,
        dataset: DatasetPeriod? = nil
    ) {
        self.source = source
        self.sourceVersion = sourceVersion
        self.options = options
        self.fingerprint = fingerprint
        self.dataset = dataset
    }
}

/// The CSV ingest jobs' store (the module's port): jobs, their checkpoints and leases, their rejected rows.
public protocol IngestJobStore: Sendable {
    /// Creates the job, or returns the unfinished job with the same fingerprint (`created` false). Throws
    /// ``IngestJobError/Code/periodBusy`` when another active job ingests the same dataset period.
    func create(_ job: NewIngestJob, now: Date) async throws -> (job: IngestJob, created: Bool)
    func find(_ id: IngestJobID) async throws -> IngestJob?
    /// The PENDING or IN_PROGRESS job with this fingerprint.
    func findUnfinished(fingerprint: String) async throws -> IngestJob?
    /// The PENDING or IN_PROGRESS job of a dataset period.
    func activeJob(for period: DatasetPeriod) async throws -> IngestJob?
    /// The newest jobs first, of one status or all, at most `limit` (clamped to 1...1,000).
    func list(status: IngestJobStatus?, limit: Int) async throws -> [IngestJob]
    /// How many jobs are in each status.
    func countByStatus() async throws -> [IngestJobStatus: Int]
    /// Takes the oldest job that is PENDING or IN_PROGRESS without a live lease (its owner died or released
    /// it), for `owner` until `leaseUntil`; nil when there is none. Two processes never get the same job.
    func claim(owner: String, leaseUntil: Date, now: Date) async throws -> IngestJob?
    /// Takes this job when it is PENDING or IN_PROGRESS without a live lease; nil otherwise.
    func claim(_ id: IngestJobID, owner: String, leaseUntil: Date, now: Date) async throws -> IngestJob?
    /// Extends `owner`'s lease; false when `owner` no longer holds the job.
    func renewLease(_ id: IngestJobID, owner: String, until: Date, now: Date) async throws -> Bool
    /// Stores the header's columns (and the checkpoint after the header).
    func recordHeader(_ id: IngestJobID, owner: String, columns: [String], checkpoint: IngestCheckpoint, now: Date)
        async throws
    /// Stores a checkpoint and the batch's rejected rows in one transaction, renewing the lease; returns the job's
    /// status (CANCELLED when an operator cancelled it meanwhile). Throws ``IngestJobError/Code/leaseLost`` when
    /// `owner` no longer holds the job.
    func checkpoint(
        _ id: IngestJobID, owner: String, checkpoint: IngestCheckpoint, errors: [IngestRowError], leaseUntil: Date,
        now: Date
    ) async throws -> IngestJobStatus
    /// Ends `owner`'s job: COMPLETED, or FAILED with `failure`; records the report's key.
    func finish(_ id: IngestJobID, owner: String, failure: String?, reportKey: String?, now: Date) async throws
        -> IngestJob
    /// Records the error report of a job that ended (a cancelled job's report is written by its runner after).
    func setReport(_ id: IngestJobID, key: String, now: Date) async throws
    /// Lets go of `owner`'s job, leaving it IN_PROGRESS with its checkpoint: any runner may take it from `retryAt`.
    func release(_ id: IngestJobID, owner: String, retryAt: Date, now: Date) async throws
    /// Cancels a PENDING or IN_PROGRESS job (a runner stops before its next batch); a cancelled job stays so.
    func cancel(_ id: IngestJobID, now: Date) async throws -> IngestJob
    /// Up to `limit` rejected rows after row `after`, in row order.
    func errors(of id: IngestJobID, after: Int, limit: Int) async throws -> [IngestRowError]
}

/// The ingest jobs' tables, on the `SQLStore` port (SQLite or PostgreSQL).
///
/// Times are milliseconds since 1970 (BIGINT), so that lease expiry compares the same way on both databases.
/// Two partial unique indexes hold the rules that must survive races between processes: one active job per
/// fingerprint, and one per dataset period.
public struct SQLIngestJobStore: IngestJobStore {
    /// The service name of these migrations in `meridian_migrations`.
    public static let service = "ingest_jobs"

    public static let migrations: [Migration] = [
        Migration(
            version: 1, name: "ingest_jobs",
            [
                """
                CREATE TABLE ingest_jobs (
                    id TEXT PRIMARY KEY, status TEXT NOT NULL,
                    source_kind TEXT NOT NULL, source_location TEXT NOT NULL, source_size BIGINT NOT NULL,
                    source_version TEXT NOT NULL, options TEXT NOT NULL, fingerprint TEXT NOT NULL, dataset_period TEXT,
                    header_columns TEXT,
                    offset_bytes BIGINT NOT NULL DEFAULT 0 CHECK (offset_bytes >= 0), line_no BIGINT NOT NULL DEFAULT 1,
                    row_no BIGINT NOT NULL DEFAULT 0, rows_read BIGINT NOT NULL DEFAULT 0,
                    rows_published BIGINT NOT NULL DEFAULT 0, rows_rejected BIGINT NOT NULL DEFAULT 0,
                    failure TEXT, report_key TEXT, owner TEXT, lease_expires_at BIGINT,
                    created_at BIGINT NOT NULL, updated_at BIGINT NOT NULL, finished_at BIGINT)
                """,
                """
                CREATE UNIQUE INDEX ingest_jobs_active_fingerprint ON ingest_jobs (fingerprint)
                WHERE status IN ('PENDING', 'IN_PROGRESS')
                """,
                """
                CREATE UNIQUE INDEX ingest_jobs_active_period ON ingest_jobs (dataset_period)
                WHERE status IN ('PENDING', 'IN_PROGRESS') AND dataset_period IS NOT NULL
                """,
                "CREATE INDEX ingest_jobs_status ON ingest_jobs (status, created_at)",
                """
                CREATE TABLE ingest_job_errors (
                    job_id TEXT NOT NULL, row_no BIGINT NOT NULL, line_no BIGINT NOT NULL, reason TEXT NOT NULL,
                    raw TEXT NOT NULL, PRIMARY KEY (job_id, row_no))
                """,
            ])
    ]

    public let store: any SQLStore

    public init(store: any SQLStore) {
        self.store = store
    }

    /// Applies the migrations.
    public static func migrate(_ store: any SQLStore) async throws {
        try await Migrator.migrate(store, service: service, migrations: migrations)
    }

    public func create(_ new: NewIngestJob, now: Date) async throws -> (job: IngestJob, created: Bool) {
        let id = IngestJobID.make()
        let options = try String(decoding: Self.encoder.encode(new.options), as: UTF8.self)
        let period = new.dataset.map { String(describing: $0) }
        let millis = Self.millis(now)
        do {
            return try await store.withTransaction { database in
                if let existing = try await Self.unfinished(fingerprint: new.fingerprint, in: database) {
                    return (existing, false)
                }
                if let period, try await Self.activePeriod(period, in: database) != nil {
                    throw IngestJobError(.periodBusy, "another job is ingesting \(period)")
                }
                try await database.raw(
                    """
                    INSERT INTO ingest_jobs (id, status, source_kind, source_location, source_size, source_version, options,
                        fingerprint, dataset_period, created_at, updated_at)
                    VALUES (\(bind: id.rawValue), \(bind: IngestJobStatus.pending.rawValue), \(bind: new.source.kind),
                        \(bind: new.source.location), \(bind: new.sourceVersion.size), \(bind: new.sourceVersion.version),
                        \(bind: options), \(bind: new.fingerprint), \(Self.nullable(period)), \(bind: millis), \(bind: millis))
                    """
                ).run()
                guard let job = try await Self.find(id, in: database) else { throw StoreError("job \(id) not stored") }
                return (job, true)
            }
        } catch let error as IngestJobError {
            throw error
        } catch {
            // A unique index refused the row: another process created the job (or took the period) meanwhile.
            if let existing = try await findUnfinished(fingerprint: new.fingerprint) { return (existing, false) }
            if let period, try await store.withDatabase({ try await Self.activePeriod(period, in: $0) }) != nil {
                throw IngestJobError(.periodBusy, "another job is ingesting \(period)")
            }
            throw error
        }
    }

    public func find(_ id: IngestJobID) async throws -> IngestJob? {
        try await store.withDatabase { try await Self.find(id, in: $0) }
    }

    public func findUnfinished(fingerprint: String) async throws -> IngestJob? {
        try await store.withDatabase { try await Self.unfinished(fingerprint: fingerprint, in: $0) }
    }

    public func activeJob(for period: DatasetPeriod) async throws -> IngestJob? {
        try await store.withDatabase { database in
            guard let id = try await Self.activePeriod(String(describing: period), in: database) else { return nil }
            return try await Self.find(id, in: database)
        }
    }

    public func list(status: IngestJobStatus?, limit: Int) async throws -> [IngestJob] {
        let limit = min(max(limit, 1), 1_000)
        return try await store.withDatabase { database in
            var query: SQLQueryString = "SELECT * FROM ingest_jobs WHERE 1 = 1"
            if let status { query.and("status", equals: status.rawValue) }
            query.appendInterpolation(unsafeRaw: " ORDER BY created_at DESC, id DESC LIMIT \(limit)")
            return try await database.raw(query).all().map(Self.job)
        }
    }

    public func countByStatus() async throws -> [IngestJobStatus: Int] {
        try await store.withDatabase { database in
            var counts: [IngestJobStatus: Int] = [:]
            for row in try await database.raw("SELECT status, COUNT(*) AS n FROM ingest_jobs GROUP BY status").all() {
                if let status = IngestJobStatus(rawValue: try row.decode(column: "status", as: String.self)) {
                    counts[status] = try row.decode(column: "n", as: Int.self)
                }
            }
            return counts
        }
    }

    public func claim(owner: String, leaseUntil: Date, now: Date) async throws -> IngestJob? {
        let candidates = try await store.withDatabase { database in
            try await database.raw(
                """
                SELECT id FROM ingest_jobs
                WHERE status = 'PENDING' OR (status = 'IN_PROGRESS' AND (lease_expires_at IS NULL OR lease_expires_at <= \(bind: Self.millis(now))))
                ORDER BY created_at, id LIMIT 8
                """
            ).all().map { IngestJobID(try $0.decode(column: "id", as: String.self)) }
        }
        for id in candidates {
            if let job = try await claim(id, owner: owner, leaseUntil: leaseUntil, now: now) { return job }
        }
        return nil
    }

    public func claim(_ id: IngestJobID, owner: String, leaseUntil: Date, now: Date) async throws -> IngestJob? {
        let millis = Self.millis(now)
        return try await store.withTransaction { database in
            // The condition is evaluated again on the row the UPDATE locks (PostgreSQL) or under the one writer
            // (SQLite): of two processes racing for a job, one updates it and the other finds nothing.
            let claimed = try await database.raw(
                """
                UPDATE ingest_jobs SET status = 'IN_PROGRESS', owner = \(bind: owner),
                    lease_expires_at = \(bind: Self.millis(leaseUntil)), updated_at = \(bind: millis)
                WHERE id = \(bind: id.rawValue) AND (status = 'PENDING'
                    OR (status = 'IN_PROGRESS' AND (lease_expires_at IS NULL OR lease_expires_at <= \(bind: millis))))
                RETURNING id
                """
            ).all()
            guard !claimed.isEmpty else { return nil }
            return try await Self.find(id, in: database)
        }
    }

    public func renewLease(_ id: IngestJobID, owner: String, until: Date, now: Date) async throws -> Bool {
        try await store.withTransaction { database in
            try await !database.raw(
                """
                UPDATE ingest_jobs SET lease_expires_at = \(bind: Self.millis(until)), updated_at = \(bind: Self.millis(now))
                WHERE id = \(bind: id.rawValue) AND owner = \(bind: owner) AND status = 'IN_PROGRESS' RETURNING id
                """
            ).all().isEmpty
        }
    }

    public func recordHeader(
        _ id: IngestJobID, owner: String, columns: [String], checkpoint: IngestCheckpoint, now: Date
    ) async throws {
        let text = try String(decoding: Self.encoder.encode(columns), as: UTF8.self)
        try await store.withTransaction { database in
            let updated = try await database.raw(
                """
                UPDATE ingest_jobs SET header_columns = \(bind: text), offset_bytes = \(bind: checkpoint.offset),
                    line_no = \(bind: checkpoint.line), updated_at = \(bind: Self.millis(now))
                WHERE id = \(bind: id.rawValue) AND owner = \(bind: owner) RETURNING id
                """
            ).all()
            if updated.isEmpty { throw IngestJobError(.leaseLost, "job \(id) is no longer held by \(owner)") }
        }
    }

    public func checkpoint(
        _ id: IngestJobID, owner: String, checkpoint: IngestCheckpoint, errors: [IngestRowError], leaseUntil: Date,
        now: Date
    ) async throws -> IngestJobStatus {
        try await store.withTransaction { database in
            let rows = try await database.raw(
                """
                UPDATE ingest_jobs SET offset_bytes = \(bind: checkpoint.offset), line_no = \(bind: checkpoint.line),
                    row_no = \(bind: checkpoint.row), rows_read = \(bind: checkpoint.rowsRead),
                    rows_published = \(bind: checkpoint.rowsPublished), rows_rejected = \(bind: checkpoint.rowsRejected),
                    lease_expires_at = \(bind: Self.millis(leaseUntil)), updated_at = \(bind: Self.millis(now))
                WHERE id = \(bind: id.rawValue) AND owner = \(bind: owner) RETURNING status
                """
            ).all()
            guard let row = rows.first, let status = IngestJobStatus(rawValue: try row.decode(column: "status", as: String.self))
            else { throw IngestJobError(.leaseLost, "job \(id) is no longer held by \(owner)") }
            for error in errors {
                // A batch stored again after a crash finds its rows there already.
                try await database.raw(
                    """
                    INSERT INTO ingest_job_errors (job_id, row_no, line_no, reason, raw)
                    VALUES (\(bind: id.rawValue), \(bind: error.row), \(bind: error.line), \(bind: error.reason),
                        \(bind: Data(error.raw).base64EncodedString()))
                    ON CONFLICT (job_id, row_no) DO NOTHING
                    """
                ).run()
            }
            return status
        }
    }

    public func finish(_ id: IngestJobID, owner: String, failure: String?, reportKey: String?, now: Date) async throws
        -> IngestJob
    {
        try await store.withTransaction { database in
            guard let job = try await Self.find(id, in: database), job.owner == owner else {
                throw IngestJobError(.leaseLost, "job \(id) is no longer held by \(owner)")
            }
            let event: IngestJobLifecycle.Event = failure.map { .fail(reason: $0) } ?? .complete
            guard case .move(let status) = IngestJobLifecycle.transition(from: job.status, on: event) else {
                throw IngestJobError(.invalidTransition, "job \(id) is \(job.status.rawValue)")
            }
            let millis = Self.millis(now)
            try await database.raw(
                """
                UPDATE ingest_jobs SET status = \(bind: status.rawValue), failure = \(Self.nullable(failure)),
                    report_key = \(Self.nullable(reportKey)), owner = NULL, lease_expires_at = NULL,
                    updated_at = \(bind: millis), finished_at = \(bind: millis)
                WHERE id = \(bind: id.rawValue) AND status = \(bind: job.status.rawValue)
                """
            ).run()
            guard let finished = try await Self.find(id, in: database) else { throw StoreError("job \(id) vanished") }
            return finished
        }
    }

    public func setReport(_ id: IngestJobID, key: String, now: Date) async throws {
        try await store.withTransaction { database in
            try await database.raw(
                """
                UPDATE ingest_jobs SET report_key = \(bind: key), owner = NULL, lease_expires_at = NULL,
                    updated_at = \(bind: Self.millis(now))
                WHERE id = \(bind: id.rawValue)
                """
            ).run()
        }
    }

    public func release(_ id: IngestJobID, owner: String, retryAt: Date, now: Date) async throws {
        try await store.withTransaction { database in
            try await database.raw(
                """
                UPDATE ingest_jobs SET owner = NULL, lease_expires_at = \(bind: Self.millis(retryAt)),
                    updated_at = \(bind: Self.millis(now))
                WHERE id = \(bind: id.rawValue) AND owner = \(bind: owner) AND status = 'IN_PROGRESS'
                """
            ).run()
        }
    }

    public func cancel(_ id: IngestJobID, now: Date) async throws -> IngestJob {
        try await store.withTransaction { database in
            guard let job = try await Self.find(id, in: database) else {
                throw IngestJobError(.notFound, "no ingest job \(id)")
            }
            switch IngestJobLifecycle.transition(from: job.status, on: .cancel) {
            case .unchanged: return job
            case .refuse(let why): throw IngestJobError(.invalidTransition, "job \(id) cannot be cancelled: \(why)")
            case .move(let status):
                let millis = Self.millis(now)
                // The owner stays: its next checkpoint sees CANCELLED, and it writes the report.
                try await database.raw(
                    """
                    UPDATE ingest_jobs SET status = \(bind: status.rawValue), updated_at = \(bind: millis),
                        finished_at = \(bind: millis)
                    WHERE id = \(bind: id.rawValue) AND status = \(bind: job.status.rawValue)
                    """
                ).run()
                guard let cancelled = try await Self.find(id, in: database) else { throw StoreError("job \(id) vanished") }
                return cancelled
            }
        }
    }

    public func errors(of id: IngestJobID, after: Int, limit: Int) async throws -> [IngestRowError] {
        let limit = min(max(limit, 1), 10_000)
        return try await store.withDatabase { database in
            try await database.raw(
                """
                SELECT row_no, line_no, reason, raw FROM ingest_job_errors
                WHERE job_id = \(bind: id.rawValue) AND row_no > \(bind: after) ORDER BY row_no LIMIT \(unsafeRaw: String(limit))
                """
            ).all().map { row in
                IngestRowError(
                    row: try row.decode(column: "row_no", as: Int.self), line: try row.decode(column: "line_no", as: Int.self),
                    reason: try row.decode(column: "reason", as: String.self),
                    raw: Array(Data(base64Encoded: try row.decode(column: "raw", as: String.self)) ?? Data()))
            }
        }
    }

    // MARK: Rows

    static let encoder: JSONEncoder = {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return encoder
    }()

    static func millis(_ date: Date) -> Int64 {
        let value = (date.timeIntervalSince1970 * 1000).rounded()
        guard value.isFinite else { return 0 }
        return Int64(max(min(value, 9e15), -9e15))
    }

    static func date(_ millis: Int64) -> Date { Date(timeIntervalSince1970: Double(millis) / 1000) }

    /// A bound value, or a literal NULL (a NULL bound to PostgreSQL's typed prepared statements has no type).
    static func nullable(_ value: String?) -> SQLQueryString {
        guard let value else { return "NULL" }
        return "\(bind: value)"
    }

    static func find(_ id: IngestJobID, in database: any SQLDatabase) async throws -> IngestJob? {
        try await database.raw("SELECT * FROM ingest_jobs WHERE id = \(bind: id.rawValue)").first().map(job)
    }

    static func unfinished(fingerprint: String, in database: any SQLDatabase) async throws -> IngestJob? {
        try await database.raw(
            """
            SELECT * FROM ingest_jobs WHERE fingerprint = \(bind: fingerprint) AND status IN ('PENDING', 'IN_PROGRESS')
            """
        ).first().map(job)
    }

    static func activePeriod(_ period: String, in database: any SQLDatabase) async throws -> IngestJobID? {
        try await database.raw(
            """
            SELECT id FROM ingest_jobs WHERE dataset_period = \(bind: period) AND status IN ('PENDING', 'IN_PROGRESS')
            """
        ).first().map { IngestJobID(try $0.decode(column: "id", as: String.self)) }
    }

    static func job(_ row: any SQLRow) throws -> IngestJob {
        let id = IngestJobID(try row.decode(column: "id", as: String.self))
        let kind = try row.decode(column: "source_kind", as: String.self)
        let location = try row.decode(column: "source_location", as: String.self)
        guard let source = IngestSource(kind: kind, location: location),
            let status = IngestJobStatus(rawValue: try row.decode(column: "status", as: String.self))
        else { throw StoreError("ingest job \(id) has an unknown source or status") }
        let options = try JSONDecoder().decode(
            IngestJobOptions.self, from: Data(try row.decode(column: "options", as: String.self).utf8))
        let columns = try row.decode(column: "header_columns", as: String?.self).map {
            try JSONDecoder().decode([String].self, from: Data($0.utf8))
        }
        var checkpoint = IngestCheckpoint()
        checkpoint.offset = try row.decode(column: "offset_bytes", as: Int64.self)
        checkpoint.line = try row.decode(column: "line_no", as: Int.self)
        checkpoint.row = try row.decode(column: "row_no", as: Int.self)
        checkpoint.rowsRead = try row.decode(column: "rows_read", as: Int.self)
        checkpoint.rowsPublished = try row.decode(column: "rows_published", as: Int.self)
        checkpoint.rowsRejected = try row.decode(column: "rows_rejected", as: Int.self)
        return IngestJob(
            id: id, status: status, source: source,
            sourceVersion: IngestSourceVersion(
                size: try row.decode(column: "source_size", as: Int64.self),
                version: try row.decode(column: "source_version", as: String.self)),
            options: options, fingerprint: try row.decode(column: "fingerprint", as: String.self),
            dataset: try row.decode(column: "dataset_period", as: String?.self).flatMap(DatasetPeriod.init(lockName:)),
            columns: columns, checkpoint: checkpoint, failure: try row.decode(column: "failure", as: String?.self),
            reportKey: try row.decode(column: "report_key", as: String?.self),
            owner: try row.decode(column: "owner", as: String?.self),
            leaseExpiresAt: try row.decode(column: "lease_expires_at", as: Int64?.self).map(date),
            createdAt: date(try row.decode(column: "created_at", as: Int64.self)),
            updatedAt: date(try row.decode(column: "updated_at", as: Int64.self)),
            finishedAt: try row.decode(column: "finished_at", as: Int64?.self).map(date))
    }
}
