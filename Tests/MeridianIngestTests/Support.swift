import Foundation
import Hummingbird
import HummingbirdTesting
import Logging
import MeridianApp
import MeridianCore
import MeridianEventLog
import MeridianHTTP
import MeridianIngest
import MeridianTestSupport
import Prometheus
import Synchronization
import Testing

/// An embedded log in a temporary directory, with an ingestor and the router of the ingest role.
/// (`@unchecked`: the router is only mutated while the harness is built.)
final class IngestHarness: @unchecked Sendable {
    let directory: String
    let log: EmbeddedEventLog
    let eventLog: any EventLog
    /// With `gated: true`, appends wait until `gate.open()`.
    let gate: GatedEventLog?
    let ingestor: Ingestor
    let registry = PrometheusCollectorRegistry()
    let router: Router<MeridianRequestContext>

    init(
        gated: Bool = false,
        configure: (inout Ingestor.Configuration) -> Void = { _ in }
    ) async throws {
        directory = NSTemporaryDirectory() + "meridian-ingest-" + UUID().uuidString
        log = try await EmbeddedEventLog.openRunning(path: directory + "/eventlog.sqlite")
        gate = gated ? GatedEventLog(log) : nil
        eventLog = gate ?? log
        var configuration = Ingestor.Configuration()
        configure(&configuration)
        let metrics = makeMetricsFactory(registry: registry)
        ingestor = try Ingestor(
            eventLog: eventLog, topics: Topics(), configuration: configuration, logger: Logger(label: "test"),
            metrics: metrics)
        router = buildRouter(eventLog: eventLog, ingestor: ingestor, registry: registry, metrics: metrics)
    }

    func close() async {
        await log.close()
        try? FileManager.default.removeItem(atPath: directory)
    }

    var application: some ApplicationProtocol { Application(router: router) }

    /// The `events` records, by `ce_id`.
    func storedEvents() async throws -> [String: ConsumedRecord] {
        let consumer = try await log.makeConsumer(ConsumerOptions(group: nil, topics: ["events"], fromBeginning: true))
        defer { Task { await consumer.close() } }
        var records: [String: ConsumedRecord] = [:]
        while true {
            let batch = try await consumer.poll(maxRecords: 1000, timeout: .milliseconds(100))
            if batch.isEmpty { return records }
            for record in batch { records[record.header("ce_id") ?? ""] = record }
        }
    }

    func metric(_ line: String) -> Double? {
        registry.emitToString().split(separator: "\n").first { $0.hasPrefix(line + " ") }
            .flatMap { $0.split(separator: " ").last }.flatMap { Double($0) }
    }
}

/// A real event log whose appends wait until the test opens the gate.
final class GatedEventLog: EventLog {
    let base: any EventLog
    private let gate = Mutex<[CheckedContinuation<Void, Never>]?>([])

    init(_ base: any EventLog) { self.base = base }

    func open() {
        let waiters = gate.withLock { state -> [CheckedContinuation<Void, Never>] in
            defer { state = nil }
            return state ?? []
        }
        for waiter in waiters { waiter.resume() }
    }

    var waiting: Int { gate.withLock { $0?.count ?? 0 } }

    func append(_ records: [EventRecord]) async -> [Result<RecordPosition, EventLogError>] {
        await withCheckedContinuation { continuation in
            let parked = gate.withLock { state -> Bool in
                guard state != nil else { return false }
                state!.append(continuation)
                return true
            }
            if !parked { continuation.resume() }
        }
        return await base.append(records)
    }

    func createTopics(_ topics: [TopicSpec]) async throws { try await base.createTopics(topics) }
    func describeTopics() async throws -> [TopicDescription] { try await base.describeTopics() }
    func makeConsumer(_ options: ConsumerOptions) async throws -> any EventLogConsumer {
        try await base.makeConsumer(options)
    }
    func isReachable() async -> Bool { await base.isReachable() }
}

extension TestResponse {
    var json: [String: Any] {
        (try? JSONSerialization.jsonObject(with: Data(body.readableBytesView)) as? [String: Any]) ?? [:]
    }
}

func eventually(timeout: Duration = .seconds(10), _ condition: () async throws -> Bool) async rethrows -> Bool {
    let deadline = ContinuousClock.now.advanced(by: timeout)
    while ContinuousClock.now < deadline {
        if try await condition() { return true }
        try? await Task.sleep(for: .milliseconds(20))
    }
    return try await condition()
}
