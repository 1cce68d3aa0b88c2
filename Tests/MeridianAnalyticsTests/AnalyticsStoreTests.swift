import Foundation
import MeridianCore
import MeridianStorage
import MeridianTestSupport
import Testing

@testable import MeridianAnalytics

/// The SQL sink and the checkpoint on SQLite and PostgreSQL: a higher revision replaces a lower one and never the
/// reverse, a replay writes the same rows, and a run restored from its checkpoint goes on as if never stopped.
@Suite struct AnalyticsStoreTests {
    func result(_ start: String, key: String = "all", revision: Int, orders: Int64) -> WindowResult {
        WindowResult(
            job: "orders", windowStart: start, windowEnd: start, key: key, metrics: ["order_count": .integer(orders)],
            revision: revision, emittedAt: start)
    }

    @Test(arguments: backends) func aHigherRevisionReplacesALowerOneAndNeverTheReverse(backend: String) async throws {
        let database = try await TestDatabase.make(
            backend, migrations: [(SQLAnalyticsStore.service, SQLAnalyticsStore.migrations)])
        let store = SQLAnalyticsStore(store: database.store)
        let checkpoint = AnalyticsCheckpoint(state: Data("s".utf8), positions: ["orders/0": 3])
        try await store.save(
            job: "orders",
            results: [
                result("2026-11-30T12:00:00.000Z", revision: 1, orders: 2),
                result("2026-11-30T12:01:00.000Z", revision: 1, orders: 1),
            ],
            checkpoint: checkpoint)
        try await store.save(
            job: "orders", results: [result("2026-11-30T12:00:00.000Z", revision: 2, orders: 3)], checkpoint: checkpoint)
        // A replay after a crash: revision 1 again, and the same revision 2: nothing changes, nothing doubles.
        try await store.save(
            job: "orders",
            results: [
                result("2026-11-30T12:00:00.000Z", revision: 1, orders: 2),
                result("2026-11-30T12:00:00.000Z", revision: 2, orders: 3),
            ],
            checkpoint: checkpoint)
        let all = try await store.results(job: "orders", from: nil, to: nil, key: nil, limit: 100).map(\.result)
        #expect(all.map(\.revision) == [2, 1])
        #expect(all.map { $0.metrics["order_count"] } == [.integer(3), .integer(1)])
        let later = try await store.results(job: "orders", from: "2026-11-30T12:00:30.000Z", to: nil, key: "all", limit: 10)
        #expect(later.map(\.result.windowStart) == ["2026-11-30T12:01:00.000Z"])
        #expect(try await store.results(job: "orders", from: nil, to: nil, key: "nobody", limit: 10).isEmpty)
        #expect(try await store.checkpoint(job: "orders") == checkpoint)
        #expect(try await store.checkpoint(job: "user-spend") == nil)
        await database.close()
    }

    @Test(arguments: backends) func oneInstanceHoldsAJobAndOneThatLostItsLeaseWritesNothing(backend: String) async throws {
        let database = try await TestDatabase.make(
            backend, migrations: [(SQLAnalyticsStore.service, SQLAnalyticsStore.migrations)])
        let store = SQLAnalyticsStore(store: database.store)
        let first = try #require(try await store.acquire(job: "orders", owner: "a", duration: 1_000, now: 10_000))
        #expect(try await store.acquire(job: "orders", owner: "b", duration: 1_000, now: 10_500) == nil)
        // Another job is free; the holder taking its own lease again gets a new epoch.
        #expect(try await store.acquire(job: "user-spend", owner: "b", duration: 1_000, now: 10_500) != nil)
        // a's lease ran out (a paused): b takes the job; a's next checkpoint is refused and writes nothing.
        let second = try #require(try await store.acquire(job: "orders", owner: "b", duration: 1_000, now: 11_001))
        #expect(second.epoch == first.epoch + 1)
        let checkpoint = AnalyticsCheckpoint(state: Data("a".utf8), positions: ["orders/0": 9])
        await #expect(throws: AnalyticsLeaseLost.self) {
            try await store.save(
                job: "orders", results: [result("2026-11-30T12:00:00.000Z", revision: 1, orders: 5)],
                checkpoint: checkpoint, lease: first, leaseDuration: 1_000)
        }
        await #expect(throws: AnalyticsLeaseLost.self) { try await store.renew(first, duration: 1_000, now: 11_002) }
        #expect(try await store.results(job: "orders", from: nil, to: nil, key: nil, limit: 10).isEmpty)
        #expect(try await store.checkpoint(job: "orders") == nil)
        // The holder's writes go through; a release lets the other take over at once.
        try await store.save(
            job: "orders", results: [result("2026-11-30T12:00:00.000Z", revision: 1, orders: 4)], checkpoint: checkpoint,
            lease: second, leaseDuration: 1_000, now: Date(timeIntervalSince1970: 11.5))
        #expect(try await store.checkpoint(job: "orders") == checkpoint)
        try await store.release(second)
        #expect(try await store.acquire(job: "orders", owner: "a", duration: 1_000, now: 11_600)?.epoch == second.epoch + 1)
        await database.close()
    }

    @Test(arguments: backends) func openWindowsAreProvisionalUntilEmitted(backend: String) async throws {
        let database = try await TestDatabase.make(
            backend, migrations: [(SQLAnalyticsStore.service, SQLAnalyticsStore.migrations)])
        let store = SQLAnalyticsStore(store: database.store)
        let checkpoint = AnalyticsCheckpoint(state: Data(), positions: [:])
        try await store.save(
            job: "orders", results: [result("2026-11-30T12:00:00.000Z", revision: 1, orders: 2)],
            open: [result("2026-11-30T12:01:00.000Z", revision: 0, orders: 1)], checkpoint: checkpoint)
        try await store.save(
            job: "orders", results: [], open: [result("2026-11-30T12:01:00.000Z", revision: 0, orders: 3)],
            checkpoint: checkpoint)
        var all = try await store.results(job: "orders", from: nil, to: nil, key: nil, limit: 10, open: true)
        #expect(all.map(\.final) == [true, false])
        #expect(all.map { $0.result.metrics["order_count"] } == [.integer(2), .integer(3)])
        #expect(try await store.results(job: "orders", from: nil, to: nil, key: nil, limit: 10).count == 1)
        #expect(try await store.latest(job: "orders", key: "all")?.result.windowStart == "2026-11-30T12:01:00.000Z")
        // Emitted: the provisional row goes, the final one stays; from/to/limit apply to both.
        try await store.save(
            job: "orders", results: [result("2026-11-30T12:01:00.000Z", revision: 1, orders: 3)], checkpoint: checkpoint)
        all = try await store.results(
            job: "orders", from: "2026-11-30T12:01:00.000Z", to: nil, key: nil, limit: 10, open: true)
        #expect(all.map(\.final) == [true])
        #expect(try await store.results(job: "orders", from: nil, to: nil, key: nil, limit: 1, open: true).count == 1)
        #expect(try await store.latest(job: "orders", key: "none") == nil)
        await database.close()
    }

    @Test func aRunRestoredFromItsCheckpointGoesOnAsIfNeverStopped() throws {
        func event(_ time: String, user: String, cents: Int) -> CloudEvent {
            CloudEvent(
                id: UUID().uuidString, source: "/t", type: "order.confirmed", time: Timestamp.parse(time)!,
                data: Array(#"{"user_id":"\#(user)","total_cents":\#(cents)}"#.utf8))
        }
        var configuration = WindowEngine<Aggregate>.Configuration()
        configuration.idleTimeout = nil
        let events = [
            event("2026-11-30T12:00:10Z", user: "a", cents: 100), event("2026-11-30T12:01:10Z", user: "a", cents: 200),
            event("2026-11-30T12:02:10Z", user: "b", cents: 50), event("2026-11-30T12:03:10Z", user: "a", cents: 400),
        ]
        func feed(_ run: inout AnalyticsRun, _ events: ArraySlice<CloudEvent>) -> [WindowResult] {
            var results: [WindowResult] = []
            for event in events {
                let now = Int64(event.time.timeIntervalSince1970 * 1000)
                results += run.observe(event, partition: 0, now: now) + run.advance(now: now)
            }
            return results
        }
        var straight = AnalyticsRun(job: .userSpend, configuration: configuration)
        let expected = feed(&straight, events[...]) + straight.finish(now: 0)

        var first = AnalyticsRun(job: .userSpend, configuration: configuration)
        var results = feed(&first, events[..<2])
        let state = try first.snapshot()
        var second = AnalyticsRun(job: .userSpend, configuration: configuration)
        try second.restore(state)
        results += feed(&second, events[2...]) + second.finish(now: 0)
        #expect(results.map(\.metrics) == expected.map(\.metrics))
        #expect(results.map(\.windowStart) == expected.map(\.windowStart))
        #expect(results.last { $0.key == "a" }?.metrics["lifetime_spent_cents"] == .integer(700))
    }
}
