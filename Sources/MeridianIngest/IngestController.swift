import Foundation
import HTTPTypes
import Hummingbird
import MeridianCore
import MeridianHTTP

/// The ingest API: `POST /events` and `POST /events/batch`.
public struct IngestController: APIRoutes {
    public let ingestor: Ingestor

    public init(ingestor: Ingestor) {
        self.ingestor = ingestor
    }

    /// Adds the ingest routes, and 405 answers for other methods on them.
    public func addRoutes(to router: some RouterMethods<MeridianRequestContext>) {
        router.post("/events") { request, context in try await self.single(request, context: context) }
        router.post("/events/batch") { request, context in try await self.batch(request, context: context) }
        for path in ["/events", "/events/batch"] {
            for method: HTTPRequest.Method in [.get, .put, .delete, .patch] {
                router.on(RouterPath(path), method: method) { request, _ -> Response in
                    throw HTTPError(.methodNotAllowed, headers: [.allow: "POST"])
                }
            }
        }
    }

    /// `{"id", "status", "reason"?}`.
    static func outcomeBody(_ outcome: IngestOutcome) -> [UInt8] {
        var json = JSONText()
        json.beginObject()
        json.field("id", outcome.id)
        json.field("status", outcome.status.rawValue)
        json.field("reason", outcome.reason)
        json.endObject()
        return json.bytes
    }

    /// `{"results": [{"index", "id"?, "status", "reason"?}...], "accepted": n, ...}`, the outcomes in request order.
    ///
    /// Written out directly rather than through ``JSONText``: with up to 1,000 results per answer, its
    /// per-member bookkeeping was a visible share of a batch's cost (docs/benchmarks.md).
    static func batchBody(_ outcomes: [IngestOutcome]) -> [UInt8] {
        var json: [UInt8] = []
        json.reserveCapacity(100 + outcomes.count * 90)
        json.append(contentsOf: #"{"results":["#.utf8)
        var counts: [IngestOutcome.Status: Int] = [:]
        for (index, outcome) in outcomes.enumerated() {
            json.append(contentsOf: index == 0 ? #"{"index":"#.utf8 : #",{"index":"#.utf8)
            json.append(contentsOf: String(index).utf8)
            if let id = outcome.id {
                json.append(contentsOf: #","id":"#.utf8)
                JSONText.appendQuoted(id, to: &json)
            }
            json.append(contentsOf: #","status":""#.utf8)
            json.append(contentsOf: outcome.status.rawValue.utf8)
            json.append(UInt8(ascii: "\""))
            if let reason = outcome.reason {
                json.append(contentsOf: #","reason":"#.utf8)
                JSONText.appendQuoted(reason, to: &json)
            }
            json.append(UInt8(ascii: "}"))
            counts[outcome.status, default: 0] += 1
        }
        json.append(UInt8(ascii: "]"))
        for status in [IngestOutcome.Status.accepted, .duplicate, .rejected, .deadLettered, .failed] {
            json.append(contentsOf: #",""#.utf8)
            json.append(contentsOf: status.rawValue.utf8)
            json.append(contentsOf: #"":"#.utf8)
            json.append(contentsOf: String(counts[status] ?? 0).utf8)
        }
        json.append(UInt8(ascii: "}"))
        return json
    }

    static func response(_ body: [UInt8], status: HTTPResponse.Status) -> Response {
        Response(
            status: status, headers: [.contentType: "application/json"],
            body: ResponseBody(byteBuffer: ByteBuffer(bytes: body)))
    }

    func single(_ request: Request, context: MeridianRequestContext) async throws -> Response {
        let client = try authorize(request)
        let format = try envelopeFormat(request, batch: false)
        let body = try await collect(request, limit: ingestor.configuration.decoder.maxEventBytes)
        let event: CloudEvent
        do {
            event = try ingestor.decoder.decodeSingle(body, format: format, receivedAt: Date())
        } catch {
            ingestor.countRejected(1)
            throw problem(for: error)
        }
        try admit(client: client ?? context.peerAddress, events: 1, bytes: body.count)
        let outcome = await ingestor.publish([event], bytes: body.count, traceparent: traceparent(request))[0]
        switch outcome.status {
        case .accepted, .deadLettered:
            return Self.response(Self.outcomeBody(outcome), status: .accepted)
        case .duplicate:
            return Self.response(Self.outcomeBody(outcome), status: .ok)
        case .failed, .rejected:
            let retry = ProblemDetails.retrySeconds(outcome.retryAfter ?? 1)
            if outcome.inProgress {
                throw ProblemDetails(
                    .conflict, slug: "in-progress", detail: "event \(outcome.id ?? "") is being published; retry",
                    field: "id", retryAfter: retry)
            }
            throw ProblemDetails(
                .serviceUnavailable, slug: "not-stored",
                detail: "the event was not stored: \(outcome.reason ?? "unknown error"); retry", retryAfter: retry)
        }
    }

    func batch(_ request: Request, context: MeridianRequestContext) async throws -> Response {
        let client = try authorize(request)
        let format = try envelopeFormat(request, batch: true)
        let body = try await collect(request, limit: ingestor.configuration.maxBatchBytes)
        let decoded: [Result<CloudEvent, EventDecodingError>]
        do {
            decoded = try ingestor.decoder.decodeBatch(
                body, format: format, receivedAt: Date(), maxEvents: ingestor.configuration.maxBatchEvents)
        } catch {
            throw problem(for: error)
        }
        guard !decoded.isEmpty else {
            throw ProblemDetails(.unprocessableContent, slug: "invalid-event", detail: "the batch is empty")
        }
        var items = [IngestOutcome?](repeating: nil, count: decoded.count)
        var events: [CloudEvent] = []
        var positions: [Int] = []
        events.reserveCapacity(decoded.count)
        positions.reserveCapacity(decoded.count)
        var bytes = 0
        for (index, result) in decoded.enumerated() {
            switch result {
            case .success(let event):
                bytes += event.data.count + 200
                events.append(event)
                positions.append(index)
            case .failure(let error): items[index] = IngestOutcome(id: nil, status: .rejected, reason: error.description)
            }
        }
        ingestor.countRejected(decoded.count - events.count)
        if !events.isEmpty {
            try admit(client: client ?? context.peerAddress, events: events.count, bytes: bytes)
            let outcomes = await ingestor.publish(events, bytes: bytes, traceparent: traceparent(request))
            for (index, outcome) in zip(positions, outcomes) { items[index] = outcome }
        }
        return Self.response(Self.batchBody(items.map { $0! }), status: .ok)
    }

    /// Checks the API key when keys are configured and returns it (the client's identity for the rate limit);
    /// nil when no keys are configured: then the client's address is its identity (an unchecked key would let a
    /// client escape its limit by sending a new one with every request).
    private func authorize(_ request: Request) throws -> String? {
        var key = request.headers[.apiKey]
        if key == nil, let authorization = request.headers[.authorization], authorization.hasPrefix("Bearer ") {
            key = String(authorization.dropFirst("Bearer ".count))
        }
        let keys = ingestor.configuration.apiKeys
        guard !keys.isEmpty else { return nil }
        guard let key else {
            throw ProblemDetails(
                .unauthorized, slug: "unauthorized", detail: "an API key is required (X-API-Key header)", field: "X-API-Key")
        }
        guard keys.contains(key) else {
            throw ProblemDetails(.unauthorized, slug: "unauthorized", detail: "the API key is not valid", field: "X-API-Key")
        }
        return "key:" + key
    }

    private func envelopeFormat(_ request: Request, batch: Bool) throws -> EnvelopeFormat {
        let contentType = request.headers[.contentType]
        guard let format = EnvelopeFormat(contentType: contentType) else {
            throw ProblemDetails(
                .unsupportedMediaType, slug: "unsupported-media-type",
                detail:
                    "Content-Type \(contentType ?? "(none)") is not supported; use application/json, application/cloudevents+json"
                    + (batch ? ", application/cloudevents-batch+json or application/x-ndjson" : ""),
                field: "Content-Type")
        }
        if !batch, format == .batch || format == .ndjson {
            throw ProblemDetails(
                .unsupportedMediaType, slug: "unsupported-media-type",
                detail: "\(contentType ?? "") is a batch format; POST it to /events/batch", field: "Content-Type")
        }
        return format
    }

    private func collect(_ request: Request, limit: Int) async throws -> [UInt8] {
        Array(try await collectBody(request, limit: limit).readableBytesView)
    }

    private func admit(client: String, events: Int, bytes: Int) throws {
        guard case .refused(let decision) = ingestor.admit(client: client, events: events, bytes: bytes) else { return }
        switch decision {
        case .rateLimited(let wait):
            throw ProblemDetails(
                .tooManyRequests, slug: "rate-limited", detail: "too many events; slow down",
                retryAfter: ProblemDetails.retrySeconds(wait))
        case .shed(let wait):
            throw ProblemDetails(
                .serviceUnavailable, slug: "overloaded", detail: "too many events in flight; retry shortly",
                retryAfter: ProblemDetails.retrySeconds(wait))
        case .draining:
            throw ProblemDetails(
                .serviceUnavailable, slug: "draining", detail: "the server is shutting down; retry elsewhere", retryAfter: 1)
        case .admitted:
            return
        }
    }

    /// The trace context the events carry: this request's span with tracing on, otherwise the client's
    /// `traceparent` when it is well formed.
    private func traceparent(_ request: Request) -> String? {
        if let current = TraceContext.traceparent() { return current }
        guard let value = request.headers[.traceparent], TraceContext.isValid(traceparent: value) else { return nil }
        return value
    }

    private func problem(for error: EventDecodingError) -> ProblemDetails {
        switch error.kind {
        case .malformed:
            return ProblemDetails(.badRequest, slug: "malformed", detail: error.detail, field: error.field)
        case .invalid:
            return ProblemDetails(
                .unprocessableContent, slug: "invalid-event", detail: error.detail, field: error.field ?? "body")
        case .tooLarge:
            return ProblemDetails(.contentTooLarge, slug: "too-large", detail: error.detail, field: error.field)
        }
    }
}
