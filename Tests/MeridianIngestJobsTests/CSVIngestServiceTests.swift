import Foundation
import Logging
import MeridianCore
import MeridianTestSupport
import ServiceLifecycle
import Testing

@testable import MeridianIngestJobs

/// The embedded log, 20 ms slower per append: a job of many batches is still running when the test acts.
struct SlowLog: EventLog {
    let base: any EventLog

    func append(_ records: [EventRecord]) async -> [Result<RecordPosition, EventLogError>] {
        try? await Task.sleep(for: .milliseconds(20))
        return await base.append(records)
    }

    func createTopics(_ topics: [TopicSpec]) async throws { try await base.createTopics(topics) }
    func describeTopics() async throws -> [TopicDescription] { try await base.describeTopics() }
    func makeConsumer(_ options: ConsumerOptions) async throws -> any EventLogConsumer { try await base.makeConsumer(options) }
    func isReachable() async -> Bool { true }
}

@Suite struct CSVIngestServiceTests {
    func waitFor(_ condition: () async throws -> Bool) async throws -> Bool {
        let deadline = ContinuousClock.now.advanced(by: .seconds(30))
        while ContinuousClock.now < deadline {
            if try await condition() { return true }
            try await Task.sleep(for: .milliseconds(50))
        }
        return false
    }

    @Test(arguments: backends) func theServiceRunsJobsAndAGracefulShutdownStopsThemBetweenBatches(backend: String) async throws {
        let fixture = try await IngestFixture(backend)
        var options = IngestJobOptions(type: "t")
        options.batchSize = 10
        let small = try await fixture.jobs.create(
            source: .file(path: try fixture.file("small.csv", csv(rows: 20))), options: options
        ).job
        let large = try await fixture.jobs.create(
            source: .file(path: try fixture.file("large.csv", csv(rows: 3_000))), options: options
        )
        .job

        var configuration = CSVIngestService.Configuration()
        configuration.concurrency = 2
        configuration.pollInterval = .milliseconds(50)
        let service = CSVIngestService(configuration: configuration, runner: fixture.runner(eventLog: SlowLog(base: fixture.log)))
        let group = ServiceGroup(services: [service], logger: Logger(label: "test"))
        let running = Task { try await group.run() }
        #expect(try await waitFor { try await fixture.jobs.job(small.id)?.status == .completed })
        #expect(try await waitFor { (try await fixture.jobs.job(large.id)?.checkpoint.rowsRead ?? 0) >= 20 })
        await group.triggerGracefulShutdown()
        try await running.value

        let stopped = try #require(try await fixture.jobs.job(large.id))
        #expect(stopped.status == .inProgress, "stopped between batches")
        #expect(stopped.owner == nil, "the lease is released for the next process")
        #expect(stopped.checkpoint.rowsRead < 3_000)

        // The next process resumes it.
        let next = CSVIngestService(configuration: configuration, runner: fixture.runner())
        let nextGroup = ServiceGroup(services: [next], logger: Logger(label: "test"))
        let nextRunning = Task { try await nextGroup.run() }
        #expect(try await waitFor { try await fixture.jobs.job(large.id)?.status == .completed })
        await nextGroup.triggerGracefulShutdown()
        try await nextRunning.value
        let ids = try await fixture.records(fixture.topics.events).compactMap { $0.header("ce_id") }
        #expect(Set(ids).count == 3_020)
        #expect(ids.count - Set(ids).count <= 10)
        await fixture.close()
    }
}
