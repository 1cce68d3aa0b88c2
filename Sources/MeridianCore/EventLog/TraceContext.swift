import Instrumentation

/// The W3C trace context (`traceparent`, `tracestate`) in a record's headers, so one order is one trace from the
/// HTTP request through the outbox and the event log into every consumer, across processes.
///
/// The propagation itself is the bootstrapped instrument's (swift-otel's W3C propagator when `tracing.enabled`); with
/// tracing off the instrument is a no-op and records carry only what a client sent (the ingestor's contract).
public enum TraceContext {
    /// `headers` with the trace context of `context` added, unless they already carry a `traceparent`.
    public static func inject(_ context: ServiceContext? = .current, into headers: inout [EventHeader]) {
        guard let context, !headers.contains(where: { $0.name == "traceparent" }) else { return }
        InstrumentationSystem.instrument.inject(context, into: &headers, using: EventHeadersInjector())
    }

    /// The `traceparent` of `context` as the bootstrapped instrument writes it; nil with tracing off.
    public static func traceparent(of context: ServiceContext? = .current) -> String? {
        guard let context else { return nil }
        var headers: [EventHeader] = []
        InstrumentationSystem.instrument.inject(context, into: &headers, using: EventHeadersInjector())
        return headers.first { $0.name == "traceparent" }?.stringValue
    }

    /// Whether `value` is a W3C `traceparent` (Trace Context level 1): a two-digit version other than `ff`, a trace
    /// id of 32 and a parent id of 16 lowercase hex digits, neither all zeros, and two digits of flags; a version
    /// after `00` may go on after a `-`. Clients send anything; only what passes is propagated.
    public static func isValid(traceparent value: String) -> Bool {
        let bytes = Array(value.utf8.prefix(56))
        guard bytes.count >= 55, bytes[2] == UInt8(ascii: "-"), bytes[35] == UInt8(ascii: "-"),
            bytes[52] == UInt8(ascii: "-")
        else { return false }
        func hex(_ range: Range<Int>) -> Bool {
            bytes[range].allSatisfy { (0x30...0x39).contains($0) || (0x61...0x66).contains($0) }
        }
        func zeros(_ range: Range<Int>) -> Bool { bytes[range].allSatisfy { $0 == 0x30 } }
        guard hex(0..<2), hex(3..<35), hex(36..<52), hex(53..<55), !zeros(3..<35), !zeros(36..<52) else { return false }
        let version = (bytes[0], bytes[1])
        if version == (0x66, 0x66) { return false }
        if version == (0x30, 0x30) { return value.utf8.count == 55 }
        return bytes.count == 55 || bytes[55] == UInt8(ascii: "-")
    }

    /// A context (children of `base`) with the trace context that `headers` carry, if any.
    public static func extract(_ headers: [EventHeader], base: ServiceContext = .topLevel) -> ServiceContext {
        var context = base
        InstrumentationSystem.instrument.extract(headers, into: &context, using: EventHeadersExtractor())
        return context
    }
}

extension EventRecord {
    /// The record with the current task's trace context in its headers (see ``TraceContext``).
    public func tracingCurrentContext() -> EventRecord {
        var record = self
        TraceContext.inject(into: &record.headers)
        return record
    }
}

/// Writes propagation fields as record headers.
struct EventHeadersInjector: Injector {
    func inject(_ value: String, forKey key: String, into carrier: inout [EventHeader]) {
        carrier.append(EventHeader(key, value))
    }
}

/// Reads propagation fields from record headers (the first header of that name).
struct EventHeadersExtractor: Extractor {
    func extract(key: String, from carrier: [EventHeader]) -> String? {
        carrier.first { $0.name == key }?.stringValue
    }
}
