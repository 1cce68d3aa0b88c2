import MeridianCore
import Testing

/// What a client's `traceparent` must be to be continued (W3C Trace Context level 1); anything else starts a new trace.
@Suite struct TraceContextTests {
    static let valid = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"

    @Test(arguments: [
        valid,
        "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-00",
        // A later version is read as 00, and may carry more after a dash.
        "01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
        "01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-what-comes-later",
    ])
    func accepts(_ value: String) {
        #expect(TraceContext.isValid(traceparent: value))
    }

    @Test(arguments: [
        "", "garbage", "00", "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7",
        // Uppercase, all-zero ids, the forbidden version, extra data on version 00, wrong separators.
        "00-4BF92F3577B34DA6A3CE929D0E0E4736-00F067AA0BA902B7-01",
        "00-00000000000000000000000000000000-00f067aa0ba902b7-01",
        "00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01",
        "ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
        "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-more",
        "01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01x",
        "00_4bf92f3577b34da6a3ce929d0e0e4736_00f067aa0ba902b7_01",
        "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-0g",
        // NUL, non-ASCII and a huge value.
        "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-0\u{0}",
        "00-4bf92f3577b34da6a3ce929d0e0e473é-00f067aa0ba902b7-01",
        String(repeating: "a", count: 100_000),
    ])
    func refuses(_ value: String) {
        #expect(!TraceContext.isValid(traceparent: value))
    }

    @Test func recordsKeepTheirOwnTraceparentAndGainNoneWithoutTracing() {
        var headers = [EventHeader("traceparent", Self.valid)]
        TraceContext.inject(into: &headers)
        #expect(headers == [EventHeader("traceparent", Self.valid)])
        // No tracer bootstrapped in this process: nothing to add, and nothing read.
        var none: [EventHeader] = []
        TraceContext.inject(into: &none)
        #expect(none.isEmpty)
        #expect(TraceContext.traceparent() == nil)
    }
}
