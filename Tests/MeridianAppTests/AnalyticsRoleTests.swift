import Foundation
import Logging
import MeridianAnalytics
import MeridianContracts
import MeridianCore
import MeridianEventLog
import MeridianFileObjects
import MeridianS3
import MeridianStorage
import MeridianTestSupport
import Prometheus
import Testing

@testable import MeridianApp

/// The analytics role's service on the embedded event log and a real store: windows closed by the watermark reach
/// the SQL sink, the object sink and the results topic, open windows show as provisional results, and of two
/// instances one runs the job while the other takes over when it stops, counting nothing twice.
@Suite struct AnalyticsRoleTests {
    func confirmed(_ time: String, user: String, cents: Int, topics: Topics) throws -> EventRecord {
        let event = OrderConfirmed(
            orderID: UUID().uuidString, userID: user, totalCents: cents, currency: "EUR", paymentID: "p",
            confirmedAt: time)
        return try event.record(topics: topics, time: Timestamp.parse(time)!)
    }

    func rows(_ store: SQLAnalyticsStore, until done: ([WindowResult]) -> Bool) async throws -> [WindowResult] {
        let deadline = ContinuousClock.now.advanced(by: .seconds(30))
        var results = try await store.results(job: "orders", from: nil, to: nil, key: nil, limit: 100).map(\.result)
        while !done(results), ContinuousClock.now < deadline {
            try await Task.sleep(for: .milliseconds(50))
            results = try await store.results(job: "orders", from: nil, to: nil, key: nil, limit: 100).map(\.result)
        }
        return results
    }

    @Test(arguments: backends) func windowsReachTheSinksAndARestartCountsNothingTwice(backend: String) async throws {
        let directory = NSTemporaryDirectory() + "meridian-analytics-role-\(UUID().uuidString)"
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let database = try await TestDatabase.make(
            backend, migrations: [(SQLAnalyticsStore.service, SQLAnalyticsStore.migrations)])
        let log = try await EmbeddedEventLog.open(
            configuration: EmbeddedEventLog.Configuration(path: directory + "/eventlog.sqlite"), logger: Logger(label: "test"))
        let logTask = Task { try await log.run() }
        let topics = Topics()
        // One partition: with several, the quietest holds the watermark back (idleness is tested in WindowEngineTests).
        try await log.createTopics(topics.all.map { TopicSpec(name: $0, partitions: 1) })
        let store = SQLAnalyticsStore(store: database.store)
        var configuration = WindowEngine<Aggregate>.Configuration()
        configuration.idleTimeout = nil
        let objects = try FileObjectStore(configuration: .init(root: directory + "/objects"))
        let registry = PrometheusCollectorRegistry()
        func service(_ owner: String) -> AnalyticsService {
            var options = AnalyticsService.Options(owner: owner)
            options.leaseDuration = 60_000
            options.sinks = [ObjectAnalyticsSink(objects: objects)]
            return AnalyticsService(
                job: .orders, configuration: configuration, options: options, eventLog: log, store: store, topics: topics,
                logger: Logger(label: "test"), metrics: makeMetricsFactory(registry: registry))
        }
        func holder() async throws -> String? { try await store.holder(job: "orders") }

        for outcome in await log.append([
            try confirmed("2026-11-30T12:00:10Z", user: "a", cents: 100, topics: topics),
            try confirmed("2026-11-30T12:00:20Z", user: "b", cents: 300, topics: topics),
            try confirmed("2026-11-30T12:01:30Z", user: "a", cents: 50, topics: topics),
        ]) {
            _ = try outcome.get()
        }
        // Two instances at once: one holds the job (a lease of a minute), the other waits.
        let instances = ["one": service("one"), "two": service("two")]
        let tasks = instances.mapValues { instance in Task { try await instance.run() } }
        var results = try await rows(store) { $0.count == 1 }
        #expect(results.map(\.windowStart) == ["2026-11-30T12:00:00.000Z"])
        #expect(results.first?.metrics["order_count"] == .integer(2))
        #expect(results.first?.metrics["revenue_cents"] == .integer(400))
        // The 12:01 window is still open: a provisional result.
        let open = try await store.results(job: "orders", from: nil, to: nil, key: nil, limit: 10, open: true)
        #expect(open.map(\.final) == [true, false])
        #expect(open.last?.result.metrics["order_count"] == .integer(1))

        // The holder stops (releasing its lease): the other takes over long before the lease would have run out, and
        // resumes from the checkpoint; the 12:01 window has its one order, not two.
        let first = try #require(try await holder())
        tasks[first]?.cancel()
        _ = await tasks[first]?.result
        _ = try await log.append(try confirmed("2026-11-30T12:02:40Z", user: "c", cents: 7, topics: topics))
        results = try await rows(store) { $0.count == 2 }
        let second = try await holder()
        #expect(second != nil && second != first)
        #expect(results.map(\.windowStart) == ["2026-11-30T12:00:00.000Z", "2026-11-30T12:01:00.000Z"])
        #expect(results.map { $0.metrics["order_count"] } == [.integer(2), .integer(1)])
        #expect(results.map(\.revision) == [1, 1])

        // The object sink has each window once, as the SQL sink has it.
        for result in results {
            let stored = try #require(try await objects.get(ObjectKey(validating: ObjectAnalyticsSink.key(for: result))))
            var bytes: [UInt8] = []
            for try await chunk in stored.bytes { bytes += chunk }
            let decoded = try JSONDecoder().decode(WindowResult.self, from: Data(bytes))
            #expect(decoded.metrics == result.metrics && decoded.revision == result.revision)
            #expect(stored.info.metadata["revision"] == "1")
        }
        #expect(
            ObjectAnalyticsSink.key(for: results[0]) == "analytics/orders/date=2026-11-30/2026-11-30T12:00:00.000Z_all.json")

        // The results topic has each emission once per revision id (a replay would repeat the same ids).
        let consumer = try await log.makeConsumer(
            ConsumerOptions(group: nil, topics: [topics.analyticsResults], fromBeginning: true))
        var ids: [String] = []
        let deadline = ContinuousClock.now.advanced(by: .seconds(10))
        while ids.count < 2, ContinuousClock.now < deadline {
            ids += try await consumer.poll(maxRecords: 10, timeout: .milliseconds(200)).compactMap { CloudEvent(record: $0)?.id }
        }
        await consumer.close()
        #expect(
            Set(ids) == ["orders/2026-11-30T12:00:00.000Z/all/1", "orders/2026-11-30T12:01:00.000Z/all/1"], "\(ids)")

        // The watermark is 12:02:35. An order of 12:01:50 is late but within the lateness (the 12:01 window is open to
        // revisions until 12:03): revision 2 with both orders. One of 12:00:05 is later than that: counted as late and
        // dead-lettered, its window unchanged.
        for outcome in await log.append([
            try confirmed("2026-11-30T12:00:05Z", user: "d", cents: 1, topics: topics),
            try confirmed("2026-11-30T12:01:50Z", user: "e", cents: 20, topics: topics),
        ]) {
            _ = try outcome.get()
        }
        results = try await rows(store) { $0.count == 2 && $0[1].revision == 2 }
        #expect(results.map(\.revision) == [1, 2])
        #expect(results.map { $0.metrics["order_count"] } == [.integer(2), .integer(2)])
        #expect(results[1].metrics["revenue_cents"] == .integer(70))
        let revised = try #require(try await objects.get(ObjectKey(validating: ObjectAnalyticsSink.key(for: results[1]))))
        #expect(revised.info.metadata["revision"] == "2")
        let dead = try await log.makeConsumer(ConsumerOptions(group: nil, topics: [topics.deadLetter], fromBeginning: true))
        var deadIDs: [String] = []
        let deadline2 = ContinuousClock.now.advanced(by: .seconds(10))
        while deadIDs.isEmpty, ContinuousClock.now < deadline2 {
            deadIDs += try await dead.poll(maxRecords: 10, timeout: .milliseconds(200)).compactMap { $0.header("ce_id") }
        }
        await dead.close()
        #expect(deadIDs.count == 1, "\(deadIDs)")
        var exposition = [UInt8]()
        registry.emit(into: &exposition)
        let text = String(decoding: exposition, as: UTF8.self)
        #expect(text.contains(#"meridian_analytics_late_events_total{job="orders"} 1"#), "\(text)")
        for task in tasks.values { task.cancel() }
        for task in tasks.values { _ = await task.result }
        await log.close()
        logTask.cancel()
        await database.close()
    }
}

/// The DynamoDB sink against moto with every Signature V4 checked: its settings, conditional writes on the revision,
/// a replay changing nothing, and a wrong secret refused with the cause named.
@Suite struct DynamoDBSinkTests {
    func settings(_ environment: [String: String]) async throws -> MeridianSettings {
        try MeridianSettings(reader: try await MeridianSettings.reader(environment: environment), environment: environment)
    }

    func result(_ start: String, key: String, revision: Int, spent: Int64) -> WindowResult {
        WindowResult(
            job: "user-spend", windowStart: start, windowEnd: start, key: key,
            metrics: ["spent_cents": .integer(spent), "tier": .text("Regular")], revision: revision, emittedAt: start)
    }

    @Test func resultsAreWrittenOnceAndALowerRevisionNeverReplacesAHigherOne() async throws {
        try await withMoto(checkSignatures: true) { moto in
            var environment = [
                "MERIDIAN_ANALYTICS_DYNAMODB_TABLE": "meridian-analytics",
                "MERIDIAN_ANALYTICS_DYNAMODB_ENDPOINT": moto.endpoint, "MERIDIAN_ANALYTICS_DYNAMODB_CREATE_TABLE": "true",
                "MERIDIAN_ANALYTICS_DYNAMODB_ACCESS_KEY_ID": moto.credentials.accessKeyID,
                "MERIDIAN_ANALYTICS_DYNAMODB_SECRET_ACCESS_KEY": moto.credentials.secretAccessKey,
            ]
            let dynamo = try #require(try await settings(environment).analytics.dynamoDB)
            let client = try DynamoDBClient(configuration: dynamo.client, credentialSource: dynamo.credentials.source())
            let sink = DynamoDBAnalyticsSink(client: client, table: dynamo.table, createTable: dynamo.createTable)
            try await sink.write([
                result("2026-11-30T12:00:00.000Z", key: "ada", revision: 1, spent: 100),
                result("2026-11-30T12:01:00.000Z", key: "ada", revision: 1, spent: 50),
            ])
            try await sink.write([result("2026-11-30T12:00:00.000Z", key: "ada", revision: 2, spent: 130)])
            // A replay after a crash: revisions 1 and 2 again. Nothing goes back, nothing doubles.
            try await sink.write([
                result("2026-11-30T12:00:00.000Z", key: "ada", revision: 1, spent: 100),
                result("2026-11-30T12:00:00.000Z", key: "ada", revision: 2, spent: 130),
            ])
            let items = try await client.query(
                table: "meridian-analytics", keyCondition: "pk = :pk", values: [":pk": .string("user-spend#ada")])
            #expect(items.map { $0["window_start"]?.stringValue } == ["2026-11-30T12:00:00.000Z", "2026-11-30T12:01:00.000Z"])
            #expect(items.map { $0["revision"]?.int64Value } == [2, 1])
            #expect(items.first?["metrics"]?.mapValue?["spent_cents"]?.int64Value == 130)
            #expect(items.first?["metrics"]?.mapValue?["tier"]?.stringValue == "Regular")

            // A wrong secret: refused, with the cause named.
            environment["MERIDIAN_ANALYTICS_DYNAMODB_SECRET_ACCESS_KEY"] = "not-the-secret"
            let wrong = try #require(try await settings(environment).analytics.dynamoDB)
            let refused = DynamoDBAnalyticsSink(
                client: try DynamoDBClient(configuration: wrong.client, credentialSource: wrong.credentials.source()),
                table: wrong.table, createTable: false)
            let error = await #expect(throws: DynamoDBError.self) {
                try await refused.write([self.result("2026-11-30T12:02:00.000Z", key: "ada", revision: 1, spent: 1)])
            }
            #expect("\(error.map { "\($0)" } ?? "")".contains("SignatureDoesNotMatch"))
        }
    }

    @Test func itsSettingsNameTheirMistakes() async throws {
        let keys = ["AWS_ACCESS_KEY_ID": "k", "AWS_SECRET_ACCESS_KEY": "s"]
        #expect(try await settings([:]).analytics.dynamoDB == nil, "off unless a table is named")
        for (environment, key) in [
            (["MERIDIAN_ANALYTICS_DYNAMODB_TABLE": "a b"].merging(keys) { $1 }, "analytics.dynamodb.table"),
            (["MERIDIAN_ANALYTICS_DYNAMODB_TABLE": "t"].merging(keys) { $1 }, "analytics.dynamodb.table"),
            (["MERIDIAN_ANALYTICS_DYNAMODB_TABLE": "results"], "analytics.dynamodb.table"),
            (
                ["MERIDIAN_ANALYTICS_DYNAMODB_TABLE": "results", "MERIDIAN_ANALYTICS_DYNAMODB_ENDPOINT": "ftp://x"]
                    .merging(keys) { $1 }, "analytics.dynamodb.endpoint"
            ),
            (
                ["MERIDIAN_ANALYTICS_DYNAMODB_TABLE": "results", "MERIDIAN_ANALYTICS_DYNAMODB_ACCESS_KEY_ID": "only"],
                "analytics.dynamodb.secretAccessKey"
            ),
        ] {
            do {
                _ = try await settings(environment)
                Issue.record("\(environment) was accepted")
            } catch let error as InvalidSetting {
                #expect("\(error)".contains(key), "\(error)")
            }
        }
        let valid = try await settings(["MERIDIAN_ANALYTICS_DYNAMODB_TABLE": "meridian.results-1"].merging(keys) { $1 })
        #expect(valid.analytics.dynamoDB?.client.region == "us-east-1")
        #expect(valid.analytics.dynamoDB?.createTable == false)
    }
}
