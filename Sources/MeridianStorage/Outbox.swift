import Foundation
import MeridianCore
import SQLKit

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
    /// service's relay in this process is woken (``CommitSignals``). Each record keeps the trace context of the
    /// task that wrote it (the HTTP request's or the consumed event's span, with tracing on) in its headers.
    public static func enqueue(_ records: [EventRecord], service: String, in database: any SQLDatabase) async throws {
        CommitSignals.written(by: service)
        let now = Timestamp.format(Date())
        for record in records.map({ $0.tracingCurrentContext() }) {
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
