import Foundation
import Testing

@testable import MeridianCore

@Suite struct EventDecoderTests {
    let decoder = try! EventDecoder()
    let now = Date(timeIntervalSince1970: 1_800_000_000)

    func decode(_ json: String, format: EnvelopeFormat = .json) throws(EventDecodingError) -> CloudEvent {
        try decoder.decodeSingle(Array(json.utf8), format: format, receivedAt: now)
    }

    func error(_ json: String, format: EnvelopeFormat = .json) -> EventDecodingError? {
        do {
            _ = try decode(json, format: format)
            return nil
        } catch {
            return error
        }
    }

    @Test func legacyShapeFillsIdAndTime() throws {
        let event = try decode(#"{"type":"page.viewed","payload":{"path":"/"}}"#)
        #expect(event.type == "page.viewed")
        #expect(UUID(uuidString: event.id) != nil)
        #expect(event.time == now)
        #expect(event.source == "/meridian/ingestor")
        #expect(String(decoding: event.data, as: UTF8.self) == #"{"path":"/"}"#)
    }

    @Test func legacyShapeKeepsIdAndTimestamp() throws {
        let event = try decode(#"{"id":"e-1","type":"a.b","timestamp":"2026-01-02T03:04:05.678Z","payload":[1,2]}"#)
        #expect(event.id == "e-1")
        #expect(Timestamp.format(event.time) == "2026-01-02T03:04:05.678Z")
        #expect(String(decoding: event.data, as: UTF8.self) == "[1,2]")
    }

    @Test func legacyUnixTimestampInMilliseconds() throws {
        let event = try decode(#"{"type":"a.b","timestamp":1767323045678}"#)
        #expect(Timestamp.format(event.time) == "2026-01-02T03:04:05.678Z")
    }

    @Test func structuredCloudEvent() throws {
        let event = try decode(
            #"""
            {"specversion":"1.0","id":"x1","source":"/shop","type":"order.created","time":"2026-01-02T03:04:05+02:00",
             "datacontenttype":"application/json","data":{"a":1},"partitionkey":"o-9","tenant":"acme"}
            """#, format: .cloudEvent)
        #expect(event.id == "x1")
        #expect(event.source == "/shop")
        #expect(event.partitionKey == "o-9")
        #expect(event.extensions == ["tenant": "acme"])
        #expect(Timestamp.format(event.time) == "2026-01-02T01:04:05.000Z")
    }

    @Test func dataBase64() throws {
        let event = try decode(
            #"{"specversion":"1.0","type":"blob.put","data_base64":"AAEC"}"#, format: .cloudEvent)
        #expect(event.data == [0, 1, 2])
        #expect(event.dataContentType == "application/octet-stream")
    }

    @Test func cloudEventsContentTypeRequiresSpecVersion() {
        #expect(error(#"{"type":"a.b"}"#, format: .cloudEvent)?.field == "specversion")
        #expect(error(#"{"specversion":"0.3","type":"a.b"}"#, format: .cloudEvent)?.field == "specversion")
    }

    @Test func malformedJSONIsMalformedWithAPosition() throws {
        let failure = try #require(error(#"{"type": nope}"#))
        #expect(failure.kind == .malformed)
        #expect(failure.detail.contains("line") || failure.detail.contains("offset") || failure.detail.contains("character"))
    }

    @Test(arguments: [
        (#"{"payload":{}}"#, "type"),
        (#"{"type":""}"#, "type"),
        (#"{"type":42}"#, "type"),
        (#"{"type":"has space"}"#, "type"),
        (#"{"type":"a.b","timestamp":"yesterday"}"#, "timestamp"),
        (#"{"type":"a.b","timestamp":1e300}"#, "timestamp"),
        (#"{"type":"a.b","timestamp":1e16}"#, "timestamp"),
        (#"{"specversion":"1.0","type":"a.b","time":"2026-13-45T00:00:00Z"}"#, "time"),
        (#"{"type":"a.b","id":""}"#, "id"),
        (#"{"specversion":"1.0","type":"a.b","Bad-Name":"x"}"#, "Bad-Name"),
    ])
    func invalidEventsNameTheField(json: String, field: String) throws {
        let failure = try #require(error(json))
        #expect(failure.kind == .invalid)
        #expect(failure.field == field)
    }

    @Test func overLongIdIsRejected() throws {
        let id = String(repeating: "x", count: 257)
        let failure = try #require(error(#"{"type":"a.b","id":"\#(id)"}"#))
        #expect(failure.field == "id")
    }

    @Test func allowListAndPattern() throws {
        var configuration = EventDecoder.Configuration()
        configuration.allowedTypes = ["page.viewed"]
        configuration.typePattern = "page\\.[a-z]+"
        let strict = try EventDecoder(configuration: configuration)
        #expect(throws: EventDecodingError.self) {
            try strict.decodeSingle(Array(#"{"type":"page.clicked"}"#.utf8), format: .json, receivedAt: now)
        }
        #expect(
            try strict.decodeSingle(Array(#"{"type":"page.viewed"}"#.utf8), format: .json, receivedAt: now).type
                == "page.viewed")
        // The pattern must match the whole type: no trailing newline slips through `$`.
        var patternOnly = EventDecoder.Configuration()
        patternOnly.typePattern = "page\\.[a-z]+"
        let patterned = try EventDecoder(configuration: patternOnly)
        #expect(
            try patterned.decodeSingle(Array(#"{"type":"page.left"}"#.utf8), format: .json, receivedAt: now).type == "page.left")
        #expect(throws: EventDecodingError.self) {
            try patterned.decodeSingle(Array(#"{"type":"page.viewed\n"}"#.utf8), format: .json, receivedAt: now)
        }
    }

    @Test func invalidPatternFailsAtConstruction() {
        var configuration = EventDecoder.Configuration()
        configuration.typePattern = "(["
        #expect(throws: (any Error).self) { try EventDecoder(configuration: configuration) }
    }

    @Test func tooLargeEvent() throws {
        var configuration = EventDecoder.Configuration()
        configuration.maxEventBytes = 64
        let small = try EventDecoder(configuration: configuration)
        let body = #"{"type":"a.b","payload":"\#(String(repeating: "y", count: 100))"}"#
        do {
            _ = try small.decodeSingle(Array(body.utf8), format: .json, receivedAt: now)
            Issue.record("expected too large")
        } catch {
            #expect(error.kind == .tooLarge)
        }
    }

    @Test func batchArrayJudgesEachItem() throws {
        let body = #"[{"specversion":"1.0","type":"a.b","id":"1"},{"specversion":"1.0"},{"specversion":"1.0","type":"c.d"}]"#
        let results = try decoder.decodeBatch(Array(body.utf8), format: .batch, receivedAt: now)
        #expect(results.count == 3)
        #expect((try? results[0].get())?.id == "1")
        if case .failure(let failure) = results[1] { #expect(failure.field == "type") } else { Issue.record("item 1 must fail") }
        #expect((try? results[2].get())?.type == "c.d")
    }

    @Test func batchThatIsNotAnArray() {
        #expect(throws: EventDecodingError.self) {
            try decoder.decodeBatch(Array(#"{"type":"a.b"}"#.utf8), format: .batch, receivedAt: now)
        }
        #expect(throws: EventDecodingError.self) {
            try decoder.decodeBatch(Array("[1,".utf8), format: .batch, receivedAt: now)
        }
    }

    @Test func tooManyEventsAreRefusedBeforeAnyIsDecoded() {
        let array = Array(("[" + String(repeating: "0,", count: 1_000_000) + "0]").utf8)
        let lines = Array(String(repeating: "0\n", count: 1_000_000).utf8)
        for (body, format) in [(array, EnvelopeFormat.json), (lines, .ndjson)] {
            do {
                _ = try decoder.decodeBatch(body, format: format, receivedAt: now, maxEvents: 1_000)
                Issue.record("must refuse \(format)")
            } catch {
                #expect(error.kind == .tooLarge)
                #expect(error.detail == "a batch holds at most 1000 events")
            }
        }
        let exactly = Array(String(repeating: "{\"type\":\"a.b\"}\n\n", count: 3).utf8)
        #expect((try? decoder.decodeBatch(exactly, format: .ndjson, receivedAt: now, maxEvents: 3))?.count == 3)
    }

    @Test func ndjsonReportsLineNumbers() throws {
        let body = "{\"type\":\"a.b\"}\n\n{\"type\":\n{\"type\":\"c.d\"}\r\n"
        let results = try decoder.decodeBatch(Array(body.utf8), format: .ndjson, receivedAt: now)
        #expect(results.count == 3)
        #expect((try? results[0].get())?.type == "a.b")
        guard case .failure(let failure) = results[1] else {
            Issue.record("line 3 must fail")
            return
        }
        #expect(failure.kind == .malformed)
        #expect(failure.detail.hasPrefix("line 3:"))
        // The position inside the line counts from the line's start, not the body's.
        #expect(failure.detail.contains("at line 1, column 9"), "\(failure.detail)")
        #expect((try? results[2].get())?.type == "c.d")
    }

    /// A body ending in a backslash inside a string once made the scan loop forever on one core.
    @Test func aTrailingBackslashIsMalformedNotAHang() {
        for body in [#"{"type":"a.b","id":"\"#, #""\"#, "{\"type\":\"a.b\"}\n{\"id\":\"\\"] {
            for format in [EnvelopeFormat.json, .ndjson] {
                if format == .json {
                    #expect(throws: EventDecodingError.self) {
                        try decoder.decodeSingle(Array(body.utf8), format: format, receivedAt: now)
                    }
                } else {
                    let results = try? decoder.decodeBatch(Array(body.utf8), format: format, receivedAt: now)
                    if case .failure(let failure)? = results?.last {
                        #expect(failure.kind == .malformed)
                    } else {
                        Issue.record("\(body)")
                    }
                }
            }
        }
    }

    @Test func mediaTypes() {
        #expect(EnvelopeFormat(contentType: "application/json; charset=utf-8") == .json)
        #expect(EnvelopeFormat(contentType: "Application/CloudEvents+JSON") == .cloudEvent)
        #expect(EnvelopeFormat(contentType: "application/cloudevents-batch+json") == .batch)
        #expect(EnvelopeFormat(contentType: "application/x-ndjson") == .ndjson)
        #expect(EnvelopeFormat(contentType: "text/plain") == nil)
        #expect(EnvelopeFormat(contentType: nil) == nil)
    }
}

@Suite struct CloudEventRecordTests {
    let event = CloudEvent(
        id: "e1", source: "/s", type: "t.x", time: Date(timeIntervalSince1970: 0), data: Array("{}".utf8),
        extensions: ["tenant": "acme"])

    @Test func binaryContentModeHeaders() {
        let record = event.record(topic: "events", traceparent: "00-abc")
        let headers = Dictionary(uniqueKeysWithValues: record.headers.map { ($0.name, $0.stringValue) })
        #expect(headers["ce_specversion"] == "1.0")
        #expect(headers["ce_id"] == "e1")
        #expect(headers["ce_source"] == "/s")
        #expect(headers["ce_type"] == "t.x")
        #expect(headers["ce_time"] == "1970-01-01T00:00:00.000Z")
        #expect(headers["content-type"] == "application/json")
        #expect(headers["traceparent"] == "00-abc")
        #expect(headers["ce_tenant"] == "acme")
        #expect(record.value == Array("{}".utf8))
    }

    @Test func keyPrefersPartitionKeyThenAggregateThenId() {
        #expect(event.record(topic: "t").key == Array("e1".utf8))
        #expect(event.record(topic: "t", aggregateID: "order-7").key == Array("order-7".utf8))
        var keyed = event
        keyed.partitionKey = "pk"
        #expect(keyed.record(topic: "t", aggregateID: "order-7").key == Array("pk".utf8))
    }

    @Test func roundTripThroughAConsumedRecord() throws {
        let record = event.record(topic: "events")
        let consumed = ConsumedRecord(
            topic: "events", partition: 0, offset: 0, key: record.key, value: record.value, headers: record.headers,
            timestamp: Date())
        let back = try #require(CloudEvent(record: consumed))
        #expect(back == event)
    }

    @Test func deadLetterHeaders() {
        let original = event.record(topic: "events")
        let dead = DeadLetter.record(
            for: original, topics: Topics(prefix: "prod."), error: "too big", errorClass: "too-large", attempts: 3)
        #expect(dead.topic == "prod.events-dlq")
        #expect(dead.key == original.key)
        #expect(dead.value == original.value)
        let headers = Dictionary(uniqueKeysWithValues: dead.headers.map { ($0.name, $0.stringValue) })
        #expect(headers["dlq-error"] == "too big")
        #expect(headers["dlq-error-class"] == "too-large")
        #expect(headers["dlq-source-topic"] == "events")
        #expect(headers["dlq-attempts"] == "3")
        #expect(headers["ce_id"] == "e1")
    }
}
