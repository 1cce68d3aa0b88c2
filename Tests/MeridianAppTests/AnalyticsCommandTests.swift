import Foundation
import MeridianTestSupport
import Testing

/// `meridian analytics replay` as users run it: a file of CloudEvents in, one `analytics.window` per line out.
@Suite struct AnalyticsCommandTests {
    @Test func replayWritesEveryResultAndNamesItsMistakes() async throws {
        let directory = NSTemporaryDirectory() + "meridian-analytics-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        var lines: [String] = []
        for (index, (time, user, cents)) in [
            ("2026-11-30T12:00:10Z", "u1", 1_000), ("2026-11-30T12:01:20Z", "u2", 250), ("2026-11-30T12:00:40Z", "u1", 3_000),
        ].enumerated() {
            lines.append(
                #"{"specversion":"1.0","id":"e\#(index)","source":"/t","type":"order.confirmed","time":"\#(time)","data":{"order_id":"o\#(index)","user_id":"\#(user)","total_cents":\#(cents)}}"#
            )
        }
        try (lines.joined(separator: "\n") + "\n").write(toFile: directory + "/in.jsonl", atomically: true, encoding: .utf8)
        let run = try await runMeridian([
            "analytics", "replay", "--job", "user-spend", "--input", directory + "/in.jsonl", "--output",
            directory + "/out.jsonl",
        ])
        #expect(run.status == 0, "\(run.output)")
        #expect(run.output.contains("3 events"), "\(run.output)")
        let results = try String(contentsOfFile: directory + "/out.jsonl", encoding: .utf8).split(separator: "\n").compactMap {
            try JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any]
        }
        // The 12:00:40 order comes 40 s behind 12:01:20: past the 5 s out-of-orderness (12:00 was emitted with one
        // order) but within the 60 s lateness, so 12:00 is emitted again as revision 2 with both.
        let u1 = results.filter { $0["key"] as? String == "u1" }
        #expect(u1.map { $0["revision"] as? Int } == [1, 2], "\(results)")
        #expect((u1.last?["metrics"] as? [String: Any])?["spent_cents"] as? Int == 4_000)
        #expect(results.contains { $0["key"] as? String == "u2" })

        let wrong = try await runMeridian(["analytics", "replay", "--job", "nope", "--input", directory + "/in.jsonl"])
        #expect(wrong.status == 64 && wrong.output.contains("user-spend"), "\(wrong.output)")
        let missing = try await runMeridian(["analytics", "replay", "--job", "orders", "--input", directory + "/none"])
        #expect(missing.status == 66, "\(missing.output)")
    }
}
