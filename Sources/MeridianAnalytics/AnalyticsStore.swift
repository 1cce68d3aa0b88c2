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

/// A result as the SQL sink keeps it.
public struct StoredResult: Sendable, Hashable {
    public var result: WindowResult
    public var updatedAt: String
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
            ])
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

    /// Writes `results` (each replacing a lower revision of its window, never a higher one) and the checkpoint, in
    /// one transaction.
    public func save(job: String, results: [WindowResult], checkpoint: AnalyticsCheckpoint, now: Date = Date()) async throws {
        let updated = Timestamp.format(now)
        let positions = String(decoding: try Self.encoder.encode(checkpoint.positions), as: UTF8.self)
        try await store.withTransaction { database in
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

    /// Results of `job` whose window starts in `[from, to)` (RFC 3339, as stored), of `key` when given, oldest
    /// first, at most `limit`.
    public func results(job: String, from: String?, to: String?, key: String?, limit: Int) async throws -> [StoredResult] {
        try await store.withDatabase { database in
            var query = SQLQueryString("SELECT * FROM analytics_metrics WHERE job = \(bind: job)")
            if let from {
                query.appendInterpolation(unsafeRaw: " AND window_start >= ")
                query.appendInterpolation(bind: from)
            }
            if let to {
                query.appendInterpolation(unsafeRaw: " AND window_start < ")
                query.appendInterpolation(bind: to)
            }
            if let key { query.and("key", equals: key) }
            query.appendInterpolation(unsafeRaw: " ORDER BY window_start, key LIMIT ")
            query.appendInterpolation(bind: max(1, min(limit, 10_000)))
            return try await database.raw(query).all().map { row in
                StoredResult(
                    result: WindowResult(
                        job: try row.decode(column: "job", as: String.self),
                        windowStart: try row.decode(column: "window_start", as: String.self),
                        windowEnd: try row.decode(column: "window_end", as: String.self),
                        key: try row.decode(column: "key", as: String.self),
                        metrics: try JSONDecoder().decode(
                            [String: MetricValue].self, from: Data(try row.decode(column: "metrics", as: String.self).utf8)),
                        revision: try row.decode(column: "revision", as: Int.self),
                        emittedAt: try row.decode(column: "updated_at", as: String.self)),
                    updatedAt: try row.decode(column: "updated_at", as: String.self))
            }
        }
    }
}
