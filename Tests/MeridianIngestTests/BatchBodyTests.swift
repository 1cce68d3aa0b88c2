import Foundation
import Testing

@testable import MeridianIngest

@Suite struct BatchBodyTests {
    @Test func isJSONWithEveryOutcomeInOrderAndTheCounts() throws {
        let outcomes = [
            IngestOutcome(id: "a", status: .accepted),
            IngestOutcome(id: nil, status: .rejected, reason: "line 2: type: \"x\ty\" is not\u{01} allowed \\ here"),
            IngestOutcome(id: "a", status: .duplicate),
            IngestOutcome(id: "é\"q", status: .failed, reason: "queue full", retryAfter: 1),
        ]
        let body = IngestController.batchBody(outcomes)
        let json = try #require(try JSONSerialization.jsonObject(with: Data(body)) as? [String: Any])
        let results = try #require(json["results"] as? [[String: Any]])
        #expect(results.map { $0["index"] as? Int } == [0, 1, 2, 3])
        #expect(results.map { $0["id"] as? String } == ["a", nil, "a", "é\"q"])
        #expect(results.map { $0["status"] as? String } == ["accepted", "rejected", "duplicate", "failed"])
        #expect(results[1]["reason"] as? String == outcomes[1].reason)
        #expect(results[0]["reason"] == nil)
        #expect(json["accepted"] as? Int == 1)
        #expect(json["rejected"] as? Int == 1)
        #expect(json["duplicate"] as? Int == 1)
        #expect(json["failed"] as? Int == 1)
        #expect(json["dead_lettered"] as? Int == 0)
    }
}
