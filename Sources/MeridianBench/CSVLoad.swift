import Foundation
import Logging
import MeridianCore
import MeridianIngestJobs
import MeridianStorage

/// `meridian bench csv`: rows per second of a CSV job into the event log, against the raw append rate of the same
/// events in the same run.
public enum CSVLoad {
    public struct Result: Sendable {
        public var rows: Int
        public var seconds: Double
        public var rowsPerSecond: Double { Double(rows) / max(seconds, 0.000_001) }
    }

    /// Writes a CSV of `rows` rows and 10 columns (a header, then ids, names, e-mails, amounts, a quoted field with a
    /// comma, dates...) to `path`; returns its size in bytes.
    public static func generate(path: String, rows: Int) throws -> Int64 {
        guard FileManager.default.createFile(atPath: path, contents: nil),
            let handle = FileHandle(forWritingAtPath: path)
        else { throw CocoaError(.fileWriteUnknown) }
        defer { try? handle.close() }
        var chunk = "id,name,email,country,city,amount_cents,currency,created_at,segment,note\n"
        let countries = ["DE", "FR", "US", "JP", "BR", "IN", "GB", "ES"]
        for row in 1...max(rows, 1) {
            chunk += "\(row),Customer \(row),customer\(row)@example.com,\(countries[row % countries.count]),"
            chunk += "\"City \(row % 997), District \(row % 13)\",\(row % 100_000),EUR,"
            chunk += "2026-11-\(10 + row % 20)T12:\(10 + row % 50):00Z,\(row % 3 == 0 ? "vip" : "regular"),note \(row % 101)\n"
            if chunk.utf8.count > 1_048_576 {
                try handle.write(contentsOf: Data(chunk.utf8))
                chunk = ""
            }
        }
        try handle.write(contentsOf: Data(chunk.utf8))
        return Int64(try handle.offset())
    }

    /// The events a job would publish for the file at `path` (read untimed, for the raw phase).
    public static func events(path: String, topic: String) throws -> [EventRecord] {
        let bytes = try Array(Data(contentsOf: URL(fileURLWithPath: path)))
        var reader = CSVReader(configuration: .init())
        var records = reader.read(bytes)
        if let last = reader.finish() { records.append(last) }
        guard case .fields(let header)? = records.first?.content else { return [] }
        let rows = try RowEvents(
            jobID: IngestJobID("bench-raw"), columns: header, options: IngestJobOptions(type: "customer.imported"),
            file: path, topic: topic)
        let now = Date()
        var events: [EventRecord] = []
        events.reserveCapacity(records.count)
        for (index, record) in records.dropFirst().enumerated() {
            guard case .fields(let fields) = record.content,
                case .success(let event) = rows.record(fields, row: index + 1, now: now)
            else { continue }
            events.append(event)
        }
        return events
    }

    /// Appends `events` in batches of `batch`, one batch at a time as a job does, each durable before the next.
    public static func raw(_ events: [EventRecord], batch: Int, eventLog: any EventLog) async throws -> Result {
        let started = ContinuousClock.now
        var index = 0
        while index < events.count {
            let end = min(index + batch, events.count)
            for result in await eventLog.append(Array(events[index..<end])) {
                if case .failure(let error) = result { throw error }
            }
            index = end
        }
        return Result(rows: events.count, seconds: (ContinuousClock.now - started).timeInterval)
    }

    /// Runs one job over the file at `path` to its end (a SQL store for its checkpoints, the event log for its rows).
    public static func job(
        path: String, batch: Int, store: any SQLStore, eventLog: any EventLog, topics: Topics
    ) async throws -> (result: Result, job: IngestJob) {
        try await SQLIngestJobStore.migrate(store)
        let jobs = SQLIngestJobStore(store: store)
        let ingest = IngestJobs(store: jobs, objects: nil)
        var options = IngestJobOptions(type: "customer.imported")
        options.batchSize = batch
        var configuration = CSVIngestRunner.Configuration()
        configuration.topics = topics
        let runner = CSVIngestRunner(
            configuration: configuration, store: jobs, eventLog: eventLog, objects: nil,
            logger: .init(label: "bench"))
        let started = ContinuousClock.now
        let (created, _) = try await ingest.create(source: .file(path: path), options: options)
        guard let held = try await ingest.claim(created.id, owner: "bench") else {
            throw IngestJobError(.leaseLost, "the bench could not claim its job")
        }
        guard case .finished(let finished) = try await runner.run(held, owner: "bench") else {
            throw IngestJobError(.leaseLost, "the bench's job did not finish")
        }
        return (Result(rows: finished.checkpoint.rowsPublished, seconds: (ContinuousClock.now - started).timeInterval), finished)
    }
}
