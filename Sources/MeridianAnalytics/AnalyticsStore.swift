import Foundation
import MeridianCore
import MeridianStorage
import SQLKit

/// Where a job resumes: its engine's state and the input position after the last record it counted, per partition.
public struct AnalyticsCheckpoint: Sendable, Hashable, Codable {
    /// ``AnalyticsRun/snapshot()``.
    public var state: Data
    /// `topic/partition` → the offset of the next record to count.
    public var positions: [String: Int64]

    public init(state: Data, positions: [String: Int64]) {
        self.state = state
        self.positions = positions
    }
}

/// A result as the SQL store keeps it: a window emitted (`final`, in the sink `analytics_metrics`), or a window still
/// open as it stands (`final` false, revision 0, in `analytics_open_windows`).
public struct StoredResult: Sendable, Hashable {
    public var result: WindowResult
    public var updatedAt: String
    public var final: Bool
}

/// The right to run a job, held by one instance at a time: `epoch` grows with every new holder, and every write of
/// the holder checks it, so an instance that lost the lease (paused, cut off) can no longer write a checkpoint.
public struct AnalyticsLease: Sendable, Hashable {
    public var job: String
    public var owner: String
    public var epoch: Int64
}

/// The job's lease went to another instance: what this one counted since its checkpoint is dropped.
public struct AnalyticsLeaseLost: Error, CustomStringConvertible {
    public var job: String
    public var description: String { "the lease of analytics job \(job) went to another instance" }
}

/// The analytics role's tables on the `SQLStore` port (SQLite or PostgreSQL): the SQL sink `analytics_metrics`
/// (CONTRACTS.md: primary key `(job, window_start, key)`, a higher revision replaces a lower one, never the reverse)
/// and each job's checkpoint. Results and checkpoint are written in one transaction, so that a restart resumes from
/// a state whose results are all written, and a replay writes the same rows again: the sink never counts twice.
public struct SQLAnalyticsStore: Sendable {
    public static let service = "analytics"
    public static let migrations: [Migration] = [
        Migration(
            version: 1, name: "analytics",
            [
                """
                CREATE TABLE analytics_metrics (
                    job TEXT NOT NULL, window_start TEXT NOT NULL, key TEXT NOT NULL, window_end TEXT NOT NULL,
                    metrics TEXT NOT NULL, revision BIGINT NOT NULL, updated_at TEXT NOT NULL,
                    PRIMARY KEY (job, window_start, key))
                """,
                """
                CREATE TABLE analytics_checkpoints (
                    job TEXT PRIMARY KEY, state TEXT NOT NULL, positions TEXT NOT NULL, updated_at TEXT NOT NULL)
                """,
            ]),
        Migration(
            version: 2, name: "open windows and leases",
            [
                """
                CREATE TABLE analytics_open_windows (
                    job TEXT NOT NULL, window_start TEXT NOT NULL, key TEXT NOT NULL, window_end TEXT NOT NULL,
                    metrics TEXT NOT NULL, updated_at TEXT NOT NULL, PRIMARY KEY (job, window_start, key))
                """,
                """
                CREATE TABLE analytics_leases (
                    job TEXT PRIMARY KEY, owner TEXT NOT NULL, epoch BIGINT NOT NULL, expires_at BIGINT NOT NULL)
                """,
            ]),
    ]

    public let store: any SQLStore

    public init(store: any SQLStore) {
        self.store = store
    }

    static let encoder: JSONEncoder = {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return encoder
    }()

    /// The job's last checkpoint, or nil before its first.
    public func checkpoint(job: String) async throws -> AnalyticsCheckpoint? {
        try await store.withDatabase { database in
            guard
                let row = try await database.raw(
                    "SELECT state, positions FROM analytics_checkpoints WHERE job = \(bind: job)"
                ).first()
            else { return nil }
            let state = try row.decode(column: "state", as: String.self)
            let positions = try row.decode(column: "positions", as: String.self)
            return AnalyticsCheckpoint(
                state: Data(base64Encoded: state) ?? Data(),
                positions: try JSONDecoder().decode([String: Int64].self, from: Data(positions.utf8)))
        }
    }

    /// Takes the lease of `job` for `owner` until `now + duration` (milliseconds) when it is free, expired or already
    /// `owner`'s; nil when another instance holds it.
    public func acquire(job: String, owner: String, duration: Int64, now: Int64) async throws -> AnalyticsLease? {
        try await store.withTransaction { database in
            let row = try await database.raw(
                """
                INSERT INTO analytics_leases (job, owner, epoch, expires_at)
                VALUES (\(bind: job), \(bind: owner), 1, \(bind: Saturating.plus(now, duration)))
                ON CONFLICT (job) DO UPDATE SET owner = excluded.owner, epoch = analytics_leases.epoch + 1,
                    expires_at = excluded.expires_at
                WHERE analytics_leases.expires_at < \(bind: now) OR analytics_leases.owner = \(bind: owner)
                RETURNING epoch
                """
            ).first()
            return try row.map { AnalyticsLease(job: job, owner: owner, epoch: try $0.decode(column: "epoch", as: Int64.self)) }
        }
    }

    /// Extends `lease` to `now + duration`; throws ``AnalyticsLeaseLost`` when another instance took it.
    public func renew(_ lease: AnalyticsLease, duration: Int64, now: Int64) async throws {
        try await store.withTransaction { database in
            try await Self.renew(lease, until: Saturating.plus(now, duration), in: database)
        }
    }

    /// The instance holding the job's lease (expired or not), or nil when none does.
    public func holder(job: String) async throws -> String? {
        try await store.withDatabase { database in
            try await database.raw("SELECT owner FROM analytics_leases WHERE job = \(bind: job) AND expires_at > 0").first()?
                .decode(column: "owner", as: String.self)
        }
    }

    /// Gives `lease` up, so that another instance takes the job at once (a graceful stop).
    public func release(_ lease: AnalyticsLease) async throws {
        try await store.withTransaction { database in
            try await database.raw(
                """
                UPDATE analytics_leases SET expires_at = 0
                WHERE job = \(bind: lease.job) AND owner = \(bind: lease.owner) AND epoch = \(bind: lease.epoch)
                """
            ).run()
        }
    }

    private static func renew(_ lease: AnalyticsLease, until: Int64, in database: any SQLDatabase) async throws {
        let row = try await database.raw(
            """
            UPDATE analytics_leases SET expires_at = \(bind: until)
            WHERE job = \(bind: lease.job) AND owner = \(bind: lease.owner) AND epoch = \(bind: lease.epoch)
            RETURNING epoch
            """
        ).first()
        guard row != nil else { throw AnalyticsLeaseLost(job: lease.job) }
    }

    /// Writes `results` (each replacing a lower revision of its window, never a higher one, and leaving the open
    /// windows), the provisional results of the windows still `open`, and the checkpoint, in one transaction —
    /// after checking (and extending to `now + leaseDuration`) `lease` when given.
    public func save(
        job: String, results: [WindowResult], open: [WindowResult] = [], checkpoint: AnalyticsCheckpoint,
        lease: AnalyticsLease? = nil, leaseDuration: Int64 = 0, now: Date = Date()
    ) async throws {
        let updated = Timestamp.format(now)
        let positions = String(decoding: try Self.encoder.encode(checkpoint.positions), as: UTF8.self)
        try await store.withTransaction { database in
            if let lease {
                try await Self.renew(
                    lease, until: Saturating.plus(Int64(now.timeIntervalSince1970 * 1000), leaseDuration), in: database)
            }
            for result in results {
                let metrics = String(decoding: try Self.encoder.encode(result.metrics), as: UTF8.self)
                try await database.raw(
                    """
                    INSERT INTO analytics_metrics (job, window_start, key, window_end, metrics, revision, updated_at)
                    VALUES (\(bind: result.job), \(bind: result.windowStart), \(bind: result.key), \(bind: result.windowEnd),
                            \(bind: metrics), \(bind: result.revision), \(bind: updated))
                    ON CONFLICT (job, window_start, key) DO UPDATE SET window_end = excluded.window_end,
                        metrics = excluded.metrics, revision = excluded.revision, updated_at = excluded.updated_at
                    WHERE analytics_metrics.revision < excluded.revision
                    """
                ).run()
                try await database.raw(
                    """
                    DELETE FROM analytics_open_windows
                    WHERE job = \(bind: result.job) AND window_start = \(bind: result.windowStart) AND key = \(bind: result.key)
                    """
                ).run()
            }
            for result in open {
                let metrics = String(decoding: try Self.encoder.encode(result.metrics), as: UTF8.self)
                try await database.raw(
                    """
                    INSERT INTO analytics_open_windows (job, window_start, key, window_end, metrics, updated_at)
                    VALUES (\(bind: result.job), \(bind: result.windowStart), \(bind: result.key), \(bind: result.windowEnd),
                            \(bind: metrics), \(bind: updated))
                    ON CONFLICT (job, window_start, key) DO UPDATE SET metrics = excluded.metrics,
                        updated_at = excluded.updated_at
                    """
                ).run()
            }
            try await database.raw(
                """
                INSERT INTO analytics_checkpoints (job, state, positions, updated_at)
                VALUES (\(bind: job), \(bind: checkpoint.state.base64EncodedString()), \(bind: positions), \(bind: updated))
                ON CONFLICT (job) DO UPDATE SET state = excluded.state, positions = excluded.positions,
                    updated_at = excluded.updated_at
                """
            ).run()
        }
    }

    /// Results of `job` whose window starts in `[from, to)` (RFC 3339 as stored), of `key` when given, oldest first, at
    /// most `limit`: the windows emitted, and with `open` the windows still open as provisional results; newest first
    /// with `newestFirst`.
    public func results(
        job: String, from: String?, to: String?, key: String?, limit: Int, open: Bool = false, newestFirst: Bool = false
    ) async throws -> [StoredResult] {
        try await store.withDatabase { database in
            var query = SQLQueryString(
                "SELECT job, window_start, key, window_end, metrics, revision, updated_at FROM analytics_metrics WHERE job = ")
            query.appendInterpolation(bind: job)
            Self.filter(&query, from: from, to: to, key: key)
            if open {
                query.appendInterpolation(
                    unsafeRaw:
                        " UNION ALL SELECT job, window_start, key, window_end, metrics, 0 AS revision, updated_at FROM analytics_open_windows WHERE job = "
                )
                query.appendInterpolation(bind: job)
                Self.filter(&query, from: from, to: to, key: key)
            }
            query.appendInterpolation(
                unsafeRaw: newestFirst ? " ORDER BY window_start DESC, key LIMIT " : " ORDER BY window_start, key LIMIT ")
            query.appendInterpolation(bind: max(1, min(limit, 10_000)))
            return try await database.raw(query).all().map { row in
                let revision = try row.decode(column: "revision", as: Int.self)
                return StoredResult(
                    result: WindowResult(
                        job: try row.decode(column: "job", as: String.self),
                        windowStart: try row.decode(column: "window_start", as: String.self),
                        windowEnd: try row.decode(column: "window_end", as: String.self),
                        key: try row.decode(column: "key", as: String.self),
                        metrics: try JSONDecoder().decode(
                            [String: MetricValue].self, from: Data(try row.decode(column: "metrics", as: String.self).utf8)),
                        revision: revision, emittedAt: try row.decode(column: "updated_at", as: String.self)),
                    updatedAt: try row.decode(column: "updated_at", as: String.self), final: revision > 0)
            }
        }
    }

    /// The latest window (emitted or open) of `key` in `job`.
    public func latest(job: String, key: String) async throws -> StoredResult? {
        try await results(job: job, from: nil, to: nil, key: key, limit: 1, open: true, newestFirst: true).first
    }

    private static func filter(_ query: inout SQLQueryString, from: String?, to: String?, key: String?) {
        if let from {
            query.appendInterpolation(unsafeRaw: " AND window_start >= ")
            query.appendInterpolation(bind: from)
        }
        if let to {
            query.appendInterpolation(unsafeRaw: " AND window_start < ")
            query.appendInterpolation(bind: to)
        }
        if let key { query.and("key", equals: key) }
    }
}
