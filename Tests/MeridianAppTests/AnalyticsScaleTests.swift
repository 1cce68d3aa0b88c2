import Foundation
import Logging
import MeridianAnalytics
import MeridianBench
import MeridianContracts
import MeridianCore
import MeridianKafka
import MeridianPostgres
import MeridianTestSupport
import Testing

/// The analytics role as production runs it: `meridian serve --role analytics` processes on the Kafka mock cluster
/// (three partitions) and PostgreSQL. One instance alone; then two, the one running the jobs killed with `kill -9`
/// mid-stream and the other taking over. Both give, window by window, the results `meridian analytics replay` gives
/// for the same events: nothing counted twice, nothing missing.
@Suite(.serialized) struct AnalyticsScaleTests {
    static let postgres = ProcessInfo.processInfo.environment["MERIDIAN_TEST_POSTGRES_URL"] != nil
    static let jobs = ["orders", "user-spend"]

    /// Confirmed orders over twenty minutes of event time, one in ten out of order by up to 4 s (within the 5 s bound,
    /// so that a single engine counts each on time whatever the interleaving of the partitions), then a few a day
    /// later that close every earlier window.
    static func events() -> [AnalyticsInput.Event] {
        var input = AnalyticsInput(
            kind: .orders, count: 12_000, start: Int64(Timestamp.parse("2026-01-05T10:00:00Z")!.timeIntervalSince1970 * 1000))
        input.step = 100
        input.keys = 40
        let closing = (0..<30).map { index in
            AnalyticsInput.Event(
                id: "closing-\(index)", type: OrderConfirmed.type.rawValue, source: "/meridian/orders",
                time: input.start + 86_400_000,
                data: #"{"order_id":"closing-\#(index)","user_id":"closing","total_cents":1,"currency":"EUR"}"#,
                key: "closing-\(index)")
        }
        return Array(input) + closing
    }

    /// What a job's windows hold: `window_start/key` → metrics, the final ones and the open ones alike.
    typealias Windows = [String: [String: MetricValue]]

    /// `meridian analytics replay` of the events: each window's highest revision.
    static func replay(_ events: [AnalyticsInput.Event], job: String, directory: String) async throws -> Windows {
        let input = directory + "/events.jsonl"
        if !FileManager.default.fileExists(atPath: input) {
            try events.map(\.line).joined(separator: "\n").write(toFile: input, atomically: true, encoding: .utf8)
        }
        let output = directory + "/\(job).jsonl"
        let run = try await runMeridian(["analytics", "replay", "--job", job, "--input", input, "--output", output])
        #expect(run.status == 0, "\(run.output)")
        var windows: Windows = [:]
        var revisions: [String: Int] = [:]
        for line in try String(contentsOfFile: output, encoding: .utf8).split(separator: "\n") {
            let result = try JSONDecoder().decode(WindowResult.self, from: Data(line.utf8))
            let id = result.windowStart + "/" + result.key
            if result.revision > revisions[id] ?? 0 {
                revisions[id] = result.revision
                windows[id] = result.metrics
            }
        }
        return windows
    }

    /// What the instances wrote to PostgreSQL: the emitted windows and the open ones.
    static func stored(_ store: SQLAnalyticsStore, job: String) async throws -> (windows: Windows, open: Int) {
        var windows: Windows = [:]
        var open = 0
        for stored in try await store.results(job: job, from: nil, to: nil, key: nil, limit: 10_000, open: true) {
            windows[stored.result.windowStart + "/" + stored.result.key] = stored.result.metrics
            if !stored.final { open += 1 }
        }
        return (windows, open)
    }

    /// Records the job counted so far (its checkpoint's positions).
    static func counted(_ store: SQLAnalyticsStore, job: String) async throws -> Int64 {
        try await store.checkpoint(job: job)?.positions.values.reduce(0, +) ?? 0
    }

    /// A fresh mock cluster with the events on its `orders` topic (three partitions, keyed by order).
    static func cluster(with events: [AnalyticsInput.Event]) async throws -> KafkaMockCluster {
        let cluster = try KafkaMockCluster(brokers: 1)
        for topic in Topics().all { try cluster.createTopic(topic, partitions: 3) }
        var configuration = KafkaConfiguration()
        configuration.brokers = cluster.bootstrapServers
        let log = try KafkaEventLog(configuration: configuration, logger: Logger(label: "test"), flushTimeout: .seconds(10))
        let running = Task { try await log.run() }
        let records = events.map { $0.record(topic: Topics().orders) }
        for outcome in await log.append(records) { _ = try outcome.get() }
        await log.close()
        running.cancel()
        return cluster
    }

    @Test(
        .enabled(if: postgres, "needs PostgreSQL (make test starts one: scripts/with-postgres.sh)"),
        .timeLimit(.minutes(5)))
    func twoInstancesOneKilledMidStreamGiveWhatOneGivesAndWhatReplayGives() async throws {
        let directory = NSTemporaryDirectory() + "meridian-analytics-scale-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let events = Self.events()
        var expected: [String: Windows] = [:]
        for job in Self.jobs { expected[job] = try await Self.replay(events, job: job, directory: directory) }
        #expect(
            expected["orders"]?.count == 22, "twenty minutes, the one before (the first events out of order), the closing one")
        #expect((expected["user-spend"]?.count ?? 0) > 150)
        let databases = try #require(try await TestDatabase.postgresDatabases(2))

        func environment(_ cluster: KafkaMockCluster, database: String) -> [String: String] {
            [
                "MERIDIAN_EVENT_LOG": "kafka", "MERIDIAN_KAFKA_BROKERS": cluster.bootstrapServers,
                "MERIDIAN_KAFKA_PROPERTY_SESSION_TIMEOUT_MS": "6000", "MERIDIAN_KAFKA_PROPERTY_FETCH_WAIT_MAX_MS": "20",
                "MERIDIAN_STORAGE_URL": database, "MERIDIAN_AUTH_JWT_SECRET": String(repeating: "a", count: 40),
                // Idleness plays no part here (tested in WindowEngineTests): the closing events close the windows.
                "MERIDIAN_ANALYTICS_IDLE_TIMEOUT_SECONDS": "600", "MERIDIAN_ANALYTICS_LEASE_SECONDS": "4",
                "MERIDIAN_ANALYTICS_OBJECT_SINK": "false",
            ]
        }
        /// Waits until every record is counted and every window but the closing ones is final; the results then.
        func finished(_ store: SQLAnalyticsStore) async throws -> [String: Windows] {
            let deadline = ContinuousClock.now.advanced(by: .seconds(90))
            var results: [String: (windows: Windows, open: Int)] = [:]
            while ContinuousClock.now < deadline {
                var done = true
                for job in Self.jobs {
                    results[job] = try await Self.stored(store, job: job)
                    let counted = try await Self.counted(store, job: job)
                    done = done && counted == Int64(events.count) && results[job]?.open == 1
                }
                if done { break }
                try await Task.sleep(for: .milliseconds(200))
            }
            return results.mapValues(\.windows)
        }
        func compare(_ actual: [String: Windows], _ what: String) {
            for job in Self.jobs {
                let mine = actual[job] ?? [:]
                let theirs = expected[job] ?? [:]
                let differing = Set(mine.keys).union(theirs.keys).filter { mine[$0] != theirs[$0] }.sorted()
                #expect(
                    differing.isEmpty,
                    "\(what), \(job): \(differing.count) windows differ from replay, such as \(differing.prefix(3).map { "\($0): \(mine[$0].map { "\($0)" } ?? "none") vs \(theirs[$0].map { "\($0)" } ?? "none")" })"
                )
            }
        }

        do {
            // 1. One instance, never interrupted.
            let single = try await Self.cluster(with: events)
            let singleStore = try PostgresStore(url: databases.urls[0], logger: Logger(label: "test"))
            let singleRun = Task { try await singleStore.run() }
            try await StartedProcesses.around { started in
                let one = try started.start(
                    dataDirectory: directory + "/one", arguments: ["--role", "analytics"],
                    environment: environment(single, database: databases.urls[0]))
                try await one.waitUntilServing()
                compare(try await finished(SQLAnalyticsStore(store: singleStore)), "one instance")
            }
            singleRun.cancel()
            _ = try? await singleRun.value

            // 2. Two instances; the one running the jobs is killed mid-stream. It runs in slices of 10 ms between
            // SIGCONT and SIGSTOP, and its checkpoint is read while it is stopped, so the kill lands mid-stream
            // however busy the machine.
            let cluster = try await Self.cluster(with: events)
            let pgStore = try PostgresStore(url: databases.urls[1], logger: Logger(label: "test"))
            let pgRun = Task { try await pgStore.run() }
            let store = SQLAnalyticsStore(store: pgStore)
            try await StartedProcesses.around { started in
                let first = try started.start(
                    dataDirectory: directory + "/first", arguments: ["--role", "analytics"],
                    environment: environment(cluster, database: databases.urls[1]))
                try await first.waitUntilServing()
                let deadline = ContinuousClock.now.advanced(by: .seconds(60))
                while try await store.holder(job: "orders") == nil, ContinuousClock.now < deadline {
                    try await Task.sleep(for: .milliseconds(20))
                }
                let second = try started.start(
                    dataDirectory: directory + "/second", arguments: ["--role", "analytics"],
                    environment: environment(cluster, database: databases.urls[1]))
                try await second.waitUntilServing()
                first.child.signal(SIGSTOP)
                var counted: Int64 = 0
                while counted < 500, first.child.isRunning, ContinuousClock.now < deadline {
                    await first.child.runSlice(milliseconds: 10)
                    counted = try await Self.counted(store, job: "orders")
                }
                first.child.signal(SIGKILL)
                _ = await first.child.wait(timeout: .seconds(10))
                #expect(counted >= 500, "the first instance counted \(counted) records before the kill:\n\(first.log)")
                #expect(counted < Int64(events.count), "the kill came before the end")

                compare(try await finished(store), "two instances, one killed")
                #expect(second.log.contains("analytics job running here"), "the second instance took over:\n\(second.log)")
            }
            pgRun.cancel()
            _ = try? await pgRun.value
        } catch {
            await databases.drop()
            throw error
        }
        await databases.drop()
    }
}
