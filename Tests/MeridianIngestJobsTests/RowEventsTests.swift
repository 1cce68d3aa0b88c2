import Foundation
import MeridianCore
import Testing

@testable import MeridianIngestJobs

@Suite struct RowEventsTests {
    func rows(_ columns: [String], _ configure: (inout IngestJobOptions) -> Void = { _ in }) throws -> RowEvents {
        var options = IngestJobOptions(type: "t")
        configure(&options)
        return try RowEvents(jobID: IngestJobID("j"), columns: columns, options: options, file: "f.csv", topic: "events")
    }

    @Test func theDataIsAJSONObjectInHeaderOrderWithEveryCharacterEscaped() throws {
        let events = try rows(["b", "a", "q\"uote"])
        let json = events.json(["1", "line\nbreak\t\u{0}\u{7F}", "é \\ \"x\""])
        #expect(String(decoding: json, as: UTF8.self) == #"{"b":"1","a":"line\nbreak\t\u0000\u007f","q\"uote":"é \\ \"x\""}"#)
        let parsed = try JSONSerialization.jsonObject(with: Data(json)) as? [String: String]
        #expect(parsed == ["b": "1", "a": "line\nbreak\t\u{0}\u{7F}", "q\"uote": "é \\ \"x\""])
    }

    @Test func anIDColumnReplacesTheDefaultIDAndHostileValuesAreRejected() throws {
        let events = try rows(["id", "v"]) { $0.idColumn = "id" }
        guard case .success(let record) = events.record(["order-7", "x"], row: 3, now: Date()) else {
            Issue.record("not a record")
            return
        }
        #expect(record.headers.first { $0.name == "ce_id" }?.stringValue == "order-7")
        #expect(record.headers.first { $0.name == "ingest_row" }?.stringValue == "3")
        #expect(events.record(["", "x"], row: 1, now: Date()) == .failure(RowRejection(#"the id column "id" is empty"#)))
        if case .success = events.record(["a\u{0}b", "x"], row: 1, now: Date()) { Issue.record("a NUL in an id") }
        if case .success = events.record([String(repeating: "i", count: 513), "x"], row: 1, now: Date()) {
            Issue.record("an over-long id")
        }
        #expect(events.record(["a"], row: 1, now: Date()) == .failure(RowRejection("expected 2 columns, found 1")))
        #expect(try rows(["a"]).defaultID(row: 12) == "j:12")
    }

    @Test func headersAndOptionsAreChecked() throws {
        #expect(throws: IngestJobError.self) { try RowEvents.checkHeader(["a", ""]) }
        #expect(throws: IngestJobError.self) { try RowEvents.checkHeader(["a", "a"]) }
        #expect(throws: IngestJobError.self) { try RowEvents.checkHeader([]) }
        #expect(RowEvents.numberedColumns(3) == ["column_1", "column_2", "column_3"])
        #expect(RowEvents.numberedColumns(-1) == [])
        #expect(throws: IngestJobError.self) { try rows(["a"]) { $0.keyColumn = "b" } }

        var options = IngestJobOptions(type: "  t  ")
        #expect(try options.validated().type == "t")
        for (field, change) in [
            ("type", { (o: inout IngestJobOptions) in o.type = "" }), ("type", { $0.type = "a\u{0}" }),
            ("delimiter", { $0.delimiter = "" }), ("delimiter", { $0.delimiter = "\"" }), ("delimiter", { $0.delimiter = ";;" }),
            ("delimiter", { $0.delimiter = "é" }), ("delimiter", { $0.delimiter = "\n" }),
            ("batchSize", { $0.batchSize = 0 }), ("batchSize", { $0.batchSize = .max }), ("batchSize", { $0.batchSize = .min }),
            ("maxErrorRate", { $0.maxErrorRate = .nan }), ("maxErrorRate", { $0.maxErrorRate = -0.1 }),
            ("maxErrorRate", { $0.maxErrorRate = .infinity }), ("topic", { $0.topic = "" }), ("topic", { $0.topic = "a/b" }),
            ("idColumn", { $0.idColumn = "" }),
        ] as [(String, (inout IngestJobOptions) -> Void)] {
            options = IngestJobOptions(type: "t")
            change(&options)
            do {
                _ = try options.validated()
                Issue.record("\(field) accepted")
            } catch {
                #expect(error.field == field)
            }
        }
    }

    @Test func aRejectedRowIsWrittenAgainAsACSVLine() throws {
        let events = try rows(["a", "b"])
        #expect(String(decoding: events.line(["x,y", "say \"hi\"", "plain"]), as: UTF8.self) == #""x,y","say ""hi""",plain"#)
        #expect(events.line([String(repeating: "z", count: 5_000)]).count == 1_024)
    }
}
