import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import MeridianCore
import MeridianHTTP
import MeridianIngest
import NIOCore
import Testing

@Suite struct IngestHTTPTests {
    let json: HTTPFields = [.contentType: "application/json"]

    @Test func acceptsAnEventOnceItIsDurable() async throws {
        let harness = try await IngestHarness()
        try await harness.application.test(.router) { client in
            let traceparent = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
            var headers = json
            headers[.traceparent] = traceparent
            headers[HTTPField.Name("X-Request-ID")!] = "req-1"
            try await client.execute(
                uri: "/events", method: .post, headers: headers,
                body: ByteBuffer(string: #"{"id":"e-1","type":"page.viewed","payload":{"path":"/"}}"#)
            ) { response in
                #expect(response.status == .accepted)
                #expect(response.json["id"] as? String == "e-1")
                #expect(response.json["status"] as? String == "accepted")
                #expect(response.headers[HTTPField.Name("X-Request-ID")!] == "req-1")
            }
            let stored = try await harness.storedEvents()
            let record = try #require(stored["e-1"])
            #expect(record.header("ce_type") == "page.viewed")
            #expect(record.header("traceparent") == traceparent)
            #expect(String(decoding: record.value, as: UTF8.self) == #"{"path":"/"}"#)
        }
        #expect(harness.metric(#"meridian_ingest_events_total{outcome="published"}"#) == 1)
        await harness.close()
    }

    @Test func aRepeatedIdIsADuplicateAndPublishedOnce() async throws {
        let harness = try await IngestHarness()
        try await harness.application.test(.router) { client in
            let body = ByteBuffer(string: #"{"id":"dup","type":"a.b"}"#)
            try await client.execute(uri: "/events", method: .post, headers: json, body: body) { response in
                #expect(response.status == .accepted)
            }
            try await client.execute(uri: "/events", method: .post, headers: json, body: body) { response in
                #expect(response.status == .ok)
                #expect(response.json["status"] as? String == "duplicate")
            }
        }
        #expect(try await harness.storedEvents().count == 1)
        #expect(harness.metric(#"meridian_ingest_events_total{outcome="duplicate"}"#) == 1)
        await harness.close()
    }

    @Test(arguments: [
        ("application/json", #"{"type": nope}"#, 400, "malformed", nil as String?),
        // Ends inside a string on a backslash: once an endless loop on one core.
        ("application/json", #"{"type":"a.b","id":"\"#, 400, "malformed", nil),
        ("application/json", #"{"payload":{}}"#, 422, "invalid-event", "type"),
        ("application/json", #"{"type":"a b"}"#, 422, "invalid-event", "type"),
        ("application/json", #"{"type":"a.b","timestamp":"soon"}"#, 422, "invalid-event", "timestamp"),
        // Once trapped the timestamp's formatting and killed the server.
        ("application/json", #"{"type":"a.b","timestamp":1e300}"#, 422, "invalid-event", "timestamp"),
        ("application/json", #"{"type":"a.b","id":"\#(String(repeating: "i", count: 300))"}"#, 422, "invalid-event", "id"),
        ("text/plain", #"{"type":"a.b"}"#, 415, "unsupported-media-type", "Content-Type"),
        ("application/x-ndjson", #"{"type":"a.b"}"#, 415, "unsupported-media-type", "Content-Type"),
        ("application/cloudevents+json", #"{"type":"a.b"}"#, 422, "invalid-event", "specversion"),
    ])
    func clientMistakesGetProblemDetails(contentType: String, body: String, status: Int, slug: String, field: String?)
        async throws
    {
        let harness = try await IngestHarness()
        try await harness.application.test(.router) { client in
            try await client.execute(
                uri: "/events", method: .post, headers: [.contentType: contentType], body: ByteBuffer(string: body)
            ) { response in
                #expect(response.status.code == status)
                #expect(response.headers[.contentType] == "application/problem+json")
                #expect(response.json["type"] as? String == "https://meridian.dev/problems/\(slug)")
                #expect(response.json["field"] as? String == field)
                #expect(response.json["status"] as? Int == status)
                #expect((response.json["detail"] as? String)?.isEmpty == false)
            }
        }
        #expect(try await harness.storedEvents().isEmpty)
        await harness.close()
    }

    @Test func oversizedEventIs413() async throws {
        let harness = try await IngestHarness { $0.decoder.maxEventBytes = 100 }
        try await harness.application.test(.router) { client in
            let body = #"{"type":"a.b","payload":"\#(String(repeating: "x", count: 200))"}"#
            try await client.execute(uri: "/events", method: .post, headers: json, body: ByteBuffer(string: body)) {
                response in
                #expect(response.status == .contentTooLarge)
                #expect(response.headers[.contentType] == "application/problem+json")
            }
        }
        await harness.close()
    }

    @Test func wrongMethodIs405AndUnknownRouteIs404() async throws {
        let harness = try await IngestHarness()
        try await harness.application.test(.router) { client in
            try await client.execute(uri: "/events", method: .get) { response in
                #expect(response.status == .methodNotAllowed)
                #expect(response.headers[.allow] == "POST")
                #expect(response.headers[.contentType] == "application/problem+json")
            }
            try await client.execute(uri: "/nowhere", method: .get) { response in
                #expect(response.status == .notFound)
                #expect(response.headers[.contentType] == "application/problem+json")
            }
        }
        await harness.close()
    }

    @Test func rateLimitedClientsGet429WithRetryAfter() async throws {
        // One token per 100 s: however slow the machine, no token comes back during the four requests.
        let harness = try await IngestHarness {
            $0.admission.clientRate = 0.01
            $0.admission.clientBurst = 2
        }
        try await harness.application.test(.router) { client in
            var statuses: [HTTPResponse.Status] = []
            var retryAfter: String?
            for _ in 0..<4 {
                try await client.execute(
                    uri: "/events", method: .post, headers: json, body: ByteBuffer(string: #"{"type":"a.b"}"#)
                ) { response in
                    statuses.append(response.status)
                    if response.status == .tooManyRequests { retryAfter = response.headers[.retryAfter] }
                }
            }
            #expect(statuses.prefix(2).allSatisfy { $0 == .accepted })
            #expect(statuses.last == .tooManyRequests)
            #expect(Int(retryAfter ?? "") ?? 0 >= 1)
            // With no keys configured, a made-up X-API-Key is no new identity: the same bucket refuses it.
            var headers = json
            headers[.apiKey] = "fresh-\(UUID())"
            try await client.execute(
                uri: "/events", method: .post, headers: headers, body: ByteBuffer(string: #"{"type":"a.b"}"#)
            ) { response in
                #expect(response.status == .tooManyRequests)
            }
        }
        #expect(try await harness.storedEvents().count == 2)
        #expect(harness.metric(#"meridian_ingest_events_total{outcome="rate_limited"}"#) == 3)
        await harness.close()
    }

    /// Admits and starts publishing one event straight through the ingestor; the gate holds it in flight.
    func holdOneEvent(_ harness: IngestHarness, id: String) async throws -> Task<IngestOutcome, Never> {
        let event = try harness.ingestor.decoder.decodeSingle(
            Array(#"{"id":"\#(id)","type":"a.b"}"#.utf8), format: .json, receivedAt: Date())
        guard case .admitted = harness.ingestor.admit(client: "holder", events: 1, bytes: 10) else {
            throw CancellationError()
        }
        let task = Task { await harness.ingestor.publish([event], bytes: 10, traceparent: nil)[0] }
        #expect(await eventually { harness.gate?.waiting == 1 })
        return task
    }

    @Test func anExhaustedInflightBudgetSheds503() async throws {
        let harness = try await IngestHarness(gated: true) { $0.admission.maxInflightEvents = 1 }
        let held = try await holdOneEvent(harness, id: "held")
        try await harness.application.test(.router) { client in
            try await client.execute(
                uri: "/events", method: .post, headers: json, body: ByteBuffer(string: #"{"type":"a.b"}"#)
            ) { response in
                #expect(response.status == .serviceUnavailable)
                #expect(response.headers[.retryAfter] != nil)
                #expect(response.json["type"] as? String == "https://meridian.dev/problems/overloaded")
            }
        }
        harness.gate?.open()
        #expect(await held.value.status == .accepted)
        #expect(try await harness.storedEvents().keys.sorted() == ["held"])
        #expect(harness.metric(#"meridian_ingest_events_total{outcome="shed"}"#) == 1)
        await harness.close()
    }

    @Test func drainingRefusesNewEventsAndFailsReadinessButFinishesInflightOnes() async throws {
        let harness = try await IngestHarness(gated: true)
        try await harness.application.test(.router) { client in
            try await client.execute(uri: "/ready", method: .get) { #expect($0.status == .ok) }
        }
        let held = try await holdOneEvent(harness, id: "inflight")
        let drained = Task { await harness.ingestor.drain() }
        #expect(await eventually { harness.ingestor.isDraining })
        try await harness.application.test(.router) { client in
            try await client.execute(uri: "/ready", method: .get) { #expect($0.status == .serviceUnavailable) }
            try await client.execute(
                uri: "/events", method: .post, headers: json, body: ByteBuffer(string: #"{"type":"a.b"}"#)
            ) { response in
                #expect(response.status == .serviceUnavailable)
                #expect(response.json["type"] as? String == "https://meridian.dev/problems/draining")
            }
        }
        harness.gate?.open()
        #expect(await held.value.status == .accepted)
        await drained.value
        #expect(harness.ingestor.inflightEvents == 0)
        #expect(try await harness.storedEvents().keys.sorted() == ["inflight"])
        await harness.close()
    }

    @Test func apiKeysWhenConfigured() async throws {
        let harness = try await IngestHarness { $0.apiKeys = ["s3cret"] }
        try await harness.application.test(.router) { client in
            let body = ByteBuffer(string: #"{"type":"a.b"}"#)
            try await client.execute(uri: "/events", method: .post, headers: json, body: body) { response in
                #expect(response.status == .unauthorized)
                #expect(response.json["field"] as? String == "X-API-Key")
            }
            var wrong = json
            wrong[.apiKey] = "nope"
            try await client.execute(uri: "/events", method: .post, headers: wrong, body: body) {
                #expect($0.status == .unauthorized)
            }
            var right = json
            right[.authorization] = "Bearer s3cret"
            try await client.execute(uri: "/events", method: .post, headers: right, body: body) {
                #expect($0.status == .accepted)
            }
        }
        await harness.close()
    }

    @Test func batchReportsEachItemInOrder() async throws {
        let harness = try await IngestHarness()
        try await harness.application.test(.router) { client in
            let body = """
                [{"specversion":"1.0","id":"b1","type":"a.b"},{"specversion":"1.0","type":""},
                 {"specversion":"1.0","id":"b1","type":"a.b"},{"specversion":"1.0","id":"b2","type":"c.d","data":{"x":1}}]
                """
            try await client.execute(
                uri: "/events/batch", method: .post, headers: [.contentType: "application/cloudevents-batch+json"],
                body: ByteBuffer(string: body)
            ) { response in
                #expect(response.status == .ok)
                let results = try #require(response.json["results"] as? [[String: Any]])
                #expect(results.map { $0["status"] as? String } == ["accepted", "rejected", "duplicate", "accepted"])
                #expect((results[1]["reason"] as? String)?.contains("type") == true)
                #expect(response.json["accepted"] as? Int == 2)
                #expect(response.json["rejected"] as? Int == 1)
            }
            try await client.execute(
                uri: "/events/batch", method: .post, headers: [.contentType: "application/x-ndjson"],
                body: ByteBuffer(string: "{\"id\":\"n1\",\"type\":\"a.b\"}\n{\"id\":\"b2\",\"type\":\"c.d\"}\n")
            ) { response in
                let results = try #require(response.json["results"] as? [[String: Any]])
                #expect(results.map { $0["status"] as? String } == ["accepted", "duplicate"])
            }
        }
        #expect(try await harness.storedEvents().keys.sorted() == ["b1", "b2", "n1"])
        await harness.close()
    }

    @Test func batchLimits() async throws {
        let harness = try await IngestHarness { $0.maxBatchEvents = 2 }
        try await harness.application.test(.router) { client in
            let ndjson: HTTPFields = [.contentType: "application/x-ndjson"]
            try await client.execute(
                uri: "/events/batch", method: .post, headers: ndjson,
                body: ByteBuffer(string: String(repeating: "{\"type\":\"a.b\"}\n", count: 3))
            ) { #expect($0.status == .contentTooLarge) }
            // Too many elements is refused before any is decoded, even when they are not events.
            try await client.execute(
                uri: "/events/batch", method: .post, headers: [.contentType: "application/json"],
                body: ByteBuffer(string: "[0,0,0]")
            ) { response in
                #expect(response.status == .contentTooLarge)
                #expect(response.json["detail"] as? String == "a batch holds at most 2 events")
            }
            try await client.execute(
                uri: "/events/batch", method: .post, headers: [.contentType: "application/cloudevents-batch+json"],
                body: ByteBuffer(string: "[1,")
            ) { #expect($0.status == .badRequest) }
            try await client.execute(uri: "/events/batch", method: .post, headers: ndjson, body: ByteBuffer(string: "\n")) {
                #expect($0.status == .unprocessableContent)
            }
        }
        await harness.close()
    }

    @Test func enqueuedAcknowledgementStillPublishes() async throws {
        let harness = try await IngestHarness { $0.ack = .enqueued }
        try await harness.application.test(.router) { client in
            try await client.execute(
                uri: "/events", method: .post, headers: json, body: ByteBuffer(string: #"{"id":"q1","type":"a.b"}"#)
            ) { #expect($0.status == .accepted) }
        }
        #expect(try await eventually { try await harness.storedEvents()["q1"] != nil })
        await harness.ingestor.drain()
        await harness.close()
    }

    @Test func metricsEndpointUsesTheContractNames() async throws {
        let harness = try await IngestHarness()
        try await harness.application.test(.router) { client in
            try await client.execute(
                uri: "/events", method: .post, headers: json, body: ByteBuffer(string: #"{"type":"a.b"}"#)
            ) { _ in }
            try await client.execute(uri: "/health", method: .get) { #expect($0.status == .ok) }
            try await client.execute(uri: "/metrics", method: .get) { response in
                let text = String(buffer: response.body)
                #expect(text.contains(#"meridian_http_requests_total{route="/events",method="POST",status="202"} 1"#))
                #expect(text.contains("meridian_http_request_duration_seconds_bucket"))
                #expect(text.contains(#"meridian_ingest_events_total{outcome="accepted"} 1"#))
                #expect(text.contains("meridian_ingest_inflight_events 0"))
                #expect(text.contains("meridian_ingest_publish_duration_seconds_count 1"))
            }
        }
        await harness.close()
    }
}
