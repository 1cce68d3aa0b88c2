import Foundation
import Logging
import MeridianCore
import MeridianEventLog
import MeridianFileObjects
import MeridianTestSupport
import Synchronization

@testable import MeridianIngestJobs

/// Real components in a fresh directory: a job store on SQLite or PostgreSQL, local-file objects, the embedded
/// event log. `close()` removes everything.
final class IngestFixture: Sendable {
    let directory = NSTemporaryDirectory() + "meridian-ingest-jobs-\(UUID().uuidString)"
    let database: TestDatabase
    let store: SQLIngestJobStore
    let objects: FileObjectStore
    let log: EmbeddedEventLog
    let jobs: IngestJobs
    let topics = Topics()

    init(_ backend: String) async throws {
        try FileManager.default.createDirectory(atPath: directory + "/files", withIntermediateDirectories: true)
        database = try await TestDatabase.make(backend, migrations: [(SQLIngestJobStore.service, SQLIngestJobStore.migrations)])
        store = SQLIngestJobStore(store: database.store)
        objects = try FileObjectStore(configuration: .init(root: directory + "/objects"))
        log = try await EmbeddedEventLog.open(
            configuration: EmbeddedEventLog.Configuration(path: directory + "/eventlog.sqlite"), logger: Logger(label: "test"))
        let log = self.log
        Task { try await log.run() }
        jobs = IngestJobs(store: store, objects: objects)
    }

    func close() async {
        await log.close()
        await database.close()
        try? FileManager.default.removeItem(atPath: directory)
    }

    func runner(eventLog: (any EventLog)? = nil, configure: (inout CSVIngestRunner.Configuration) -> Void = { _ in })
        -> CSVIngestRunner
    {
        var configuration = CSVIngestRunner.Configuration()
        configure(&configuration)
        return CSVIngestRunner(
            configuration: configuration, store: store, eventLog: eventLog ?? log, objects: objects,
            logger: Logger(label: "test"))
    }

    /// Writes `bytes` to a local file and returns its path.
    func file(_ name: String, _ bytes: [UInt8]) throws -> String {
        let path = directory + "/files/" + name
        try Data(bytes).write(to: URL(fileURLWithPath: path))
        return path
    }

    /// Creates a job and claims it for `owner`.
    func claimed(_ source: IngestSource, _ options: IngestJobOptions, owner: String = "test") async throws -> IngestJob {
        let (job, _) = try await jobs.create(source: source, options: options)
        guard let claimed = try await jobs.claim(job.id, owner: owner) else { throw IngestJobError(.leaseLost, "not claimed") }
        return claimed
    }

    /// Every record of `topic` so far.
    func records(_ topic: String) async throws -> [ConsumedRecord] {
        let expected = try await log.describeTopics().first { $0.name == topic }?.recordCount ?? 0
        guard expected > 0 else { return [] }
        let consumer = try await log.makeConsumer(ConsumerOptions(group: nil, topics: [topic], fromBeginning: true))
        var records: [ConsumedRecord] = []
        let deadline = ContinuousClock.now.advanced(by: .seconds(10))
        while Int64(records.count) < expected, ContinuousClock.now < deadline {
            records += try await consumer.poll(maxRecords: 1_000, timeout: .milliseconds(200))
        }
        await consumer.close()
        // Partitions are read in no fixed order between them: in row order (stable, so a repeated row keeps its place).
        return records.enumerated().sorted {
            (Int($0.element.header("ingest_row") ?? "") ?? 0, $0.offset) < (
                Int($1.element.header("ingest_row") ?? "") ?? 0, $1.offset
            )
        }.map(\.element)
    }
}

/// The embedded log, failing on purpose after `healthy` appends: `lostAcknowledgement` appends the failing call's
/// records durably and still reports failure (a crash after the log had the batch, before the checkpoint).
final class FailingLog: EventLog {
    let base: any EventLog
    let healthy: Int
    let lostAcknowledgement: Bool
    private let calls = Mutex(0)

    init(_ base: any EventLog, healthy: Int, lostAcknowledgement: Bool) {
        self.base = base
        self.healthy = healthy
        self.lostAcknowledgement = lostAcknowledgement
    }

    func append(_ records: [EventRecord]) async -> [Result<RecordPosition, EventLogError>] {
        let call = calls.withLock { calls in
            calls += 1
            return calls
        }
        guard call > healthy else { return await base.append(records) }
        if lostAcknowledgement { _ = await base.append(records) }
        return records.map { _ in .failure(EventLogError(.unavailable, "the test's log went away")) }
    }

    func createTopics(_ topics: [TopicSpec]) async throws { try await base.createTopics(topics) }
    func describeTopics() async throws -> [TopicDescription] { try await base.describeTopics() }
    func makeConsumer(_ options: ConsumerOptions) async throws -> any EventLogConsumer { try await base.makeConsumer(options) }
    func isReachable() async -> Bool { true }
}

func text(_ bytes: [UInt8]) -> String { String(decoding: bytes, as: UTF8.self) }

/// A CSV of `count` rows `id,name,amount` with a header.
func csv(rows count: Int) -> [UInt8] {
    var text = "id,name,amount\n"
    for row in 1...max(count, 1) { text += "\(row),name \(row),\(row * 3)\n" }
    return Array(text.utf8)
}
