import Foundation
import MeridianContracts
import MeridianCore
import Testing

@testable import MeridianAnalytics

/// The three jobs of CONTRACTS.md through `analytics replay`'s path: structured CloudEvents in, `analytics.window`
/// results out, with out-of-order events, a late revision and events of other types or with hostile fields.
@Suite struct AnalyticsJobsTests {
    func line(_ type: String, _ time: String, _ data: String, id: String = UUID().uuidString) -> String {
        #"{"specversion":"1.0","id":"\#(id)","source":"/test","type":"\#(type)","time":"\#(time)","data":\#(data)}"#
    }

    func confirmed(_ time: String, user: String, cents: Int) -> String {
        line(
            "order.confirmed", time,
            #"{"order_id":"\#(UUID().uuidString)","user_id":"\#(user)","total_cents":\#(cents),"currency":"EUR","payment_id":"p","confirmed_at":"\#(time)"}"#
        )
    }

    func replay(_ job: AnalyticsJob, _ lines: [String]) -> (results: [WindowResult], summary: AnalyticsReplay.Summary) {
        var results: [WindowResult] = []
        let text = lines.joined(separator: "\n")
        let summary = AnalyticsReplay.run(
            job: job, configuration: .init(),
            lines: text.split(separator: "\n", omittingEmptySubsequences: false).map { Array($0.utf8) }
        ) { results.append($0) }
        return (results, summary)
    }

    @Test func ordersPerMinuteWithUniqueUsersAndAverageRoundedDown() {
        let (results, summary) = replay(
            .orders,
            [
                confirmed("2026-11-30T12:00:10Z", user: "u1", cents: 1_000),
                confirmed("2026-11-30T12:00:50Z", user: "u2", cents: 2_001),
                // Out of order by 3 s: still the first minute.
                confirmed("2026-11-30T12:01:02Z", user: "u1", cents: 500),
                confirmed("2026-11-30T12:00:59Z", user: "u1", cents: 4_000),
                line("order.created", "2026-11-30T12:00:30Z", #"{"order_id":"o"}"#),
                "not a cloud event",
            ])
        #expect(summary.events == 5 && summary.skipped == 1 && summary.late == 0)
        #expect(results.map(\.windowStart) == ["2026-11-30T12:00:00.000Z", "2026-11-30T12:01:00.000Z"])
        #expect(results.map(\.key) == ["all", "all"])
        #expect(
            results[0].metrics == [
                "order_count": .integer(3), "revenue_cents": .integer(7_001), "unique_users": .integer(2),
                "avg_order_value_cents": .integer(2_333),
            ])
        #expect(results[1].metrics["order_count"] == .integer(1))
        #expect(results.allSatisfy { $0.revision == 1 && $0.job == "orders" })
    }

    @Test func aLateOrderRevisesItsMinuteAndATooLateOneIsNotCounted() {
        let (results, summary) = replay(
            .orders,
            [
                confirmed("2026-11-30T12:00:10Z", user: "u1", cents: 100),
                confirmed("2026-11-30T12:01:10Z", user: "u1", cents: 100),
                // 12:00 closed at 12:01:05; this one is 60 s late at most: revision 2.
                confirmed("2026-11-30T12:00:20Z", user: "u2", cents: 300),
                confirmed("2026-11-30T12:03:00Z", user: "u1", cents: 100),
                // The watermark (12:02:55) is past 12:00's end + 60 s: refused.
                confirmed("2026-11-30T12:00:30Z", user: "u3", cents: 999),
            ])
        #expect(summary.late == 1)
        let first = results.filter { $0.windowStart == "2026-11-30T12:00:00.000Z" }
        #expect(first.map(\.revision) == [1, 2])
        #expect(first.map { $0.metrics["revenue_cents"] } == [.integer(100), .integer(400)])
    }

    @Test func userSpendKeepsALifetimeAndItsTier() {
        let (results, _) = replay(
            .userSpend,
            [
                confirmed("2026-11-30T12:00:10Z", user: "ada", cents: 400_000),
                confirmed("2026-11-30T12:00:20Z", user: "bob", cents: 100),
                confirmed("2026-11-30T12:01:10Z", user: "ada", cents: 200_000),
                confirmed("2026-11-30T12:02:10Z", user: "ada", cents: 500_000),
            ])
        let ada = results.filter { $0.key == "ada" }
        #expect(ada.map { $0.metrics["lifetime_spent_cents"] } == [.integer(400_000), .integer(600_000), .integer(1_100_000)])
        #expect(ada.map { $0.metrics["tier"] } == [.text("Regular"), .text("Premium"), .text("VIP")])
        #expect(results.first { $0.key == "bob" }?.metrics["spent_cents"] == .integer(100))
        #expect(AnalyticsJob.tier(lifetimeCents: 1_000_000) == "Premium", "VIP is above 10,000.00, not at it")
    }

    @Test func imageBytesPerSizeLabelAndHostileFieldsNeverTrap() {
        func processed(_ time: String, _ label: String, _ bytes: String) -> String {
            line(
                "product-images.processed", time,
                #"{"product_id":"p","original_key":"k","processed_key":"k2","size_label":"\#(label)","width":1,"height":1,"size_bytes":\#(bytes),"content_type":"image/jpeg","processed_at":"\#(time)"}"#
            )
        }
        let (results, _) = replay(
            .imageBytes,
            [
                processed("2026-11-30T12:00:10Z", "thumbnail", "100"),
                processed("2026-11-30T12:00:11Z", "thumbnail", "9223372036854775807"),
                processed("2026-11-30T12:00:12Z", "thumbnail", "1"),
                processed("2026-11-30T12:00:13Z", "large", "true"),
                processed("2026-11-30T12:00:14Z", "large", "-5"),
                processed("2026-11-30T12:00:15Z", "", "7"),
            ])
        let thumbnail = results.first { $0.key == "thumbnail" }
        #expect(thumbnail?.metrics["total_bytes"] == .integer(.max), "saturated, not trapped")
        #expect(thumbnail?.metrics["event_count"] == .integer(3))
        #expect(results.first { $0.key == "large" }?.metrics == ["event_count": .integer(2), "total_bytes": .integer(-5)])
        #expect(!results.contains { $0.key.isEmpty }, "an empty key is skipped")
    }

    @Test func theResultIsTheContractsShape() throws {
        let (results, _) = replay(.orders, [confirmed("2026-11-30T12:00:10Z", user: "u1", cents: 1)])
        let encoded = try JSONSerialization.jsonObject(with: JSONEncoder().encode(results[0])) as? [String: Any]
        #expect(
            Set(encoded?.keys ?? [:].keys) == ["job", "window_start", "window_end", "key", "metrics", "revision", "emitted_at"])
        #expect((encoded?["metrics"] as? [String: Any])?["order_count"] as? Int == 1)
    }
}
