import HTTPTypes
import Hummingbird
import Logging
import MeridianCore
import MeridianHTTP
import OTel
import ServiceLifecycle
import Tracing

/// Starts distributed tracing for this process when `tracing.enabled`: swift-otel's tracer (W3C trace context,
/// a parent-based ratio sampler, a batch processor, the OTLP/HTTP exporter) becomes the process's instrument, so
/// Hummingbird's `TracingMiddleware`, async-http-client's requests, the outbox and the consumers use it.
///
/// Call it before any HTTP client is created (a client takes the instrument it finds then). The returned service
/// exports the spans; run it first in the service group, so it stops last and flushes what the others recorded.
/// The standard `OTEL_*` variables (`OTEL_EXPORTER_OTLP_TRACES_HEADERS`, `..._CERTIFICATE`, ...) apply on top.
public func bootstrapTracing(_ settings: MeridianSettings, version: String, logger: Logger) throws -> (any Service)? {
    let tracing = settings.tracing
    guard tracing.enabled else { return nil }
    var configuration = OTel.Configuration.default
    configuration.serviceName =
        tracing.serviceName ?? (settings.roles.count == 1 ? "meridian-\(settings.roles[0].rawValue)" : "meridian")
    configuration.resourceAttributes = ["service.version": version]
    var diagnostics = logger
    diagnostics.handler = TracingDiagnosticsHandler(base: logger.handler)
    configuration.diagnosticLogger = .custom(diagnostics)
    configuration.logs.enabled = false
    configuration.metrics.enabled = false
    configuration.traces.enabled = true
    configuration.traces.exporter = .otlp
    configuration.traces.sampler = .parentBasedTraceIDRatio(ratio: tracing.sampleRatio) ?? .parentBasedAlwaysOn
    configuration.traces.otlpExporter.endpoint = tracing.endpoint
    configuration.traces.otlpExporter.protocol = tracing.wireProtocol == .json ? .httpJSON : .httpProtobuf
    // Not OTLP's 10 s: async-http-client tries to connect to an unreachable collector until the deadline, and the
    // last export runs after every other service stopped, so this bounds what a dead collector adds to a stop.
    configuration.traces.otlpExporter.timeout = .seconds(3)
    do {
        let backend = try OTel.makeTracingBackend(configuration: configuration)
        InstrumentationSystem.bootstrap(backend.factory)
        return backend.service
    } catch {
        throw StartupError(.configuration, "cannot start tracing: \(error) (tracing.endpoint, OTEL_EXPORTER_OTLP_* variables)")
    }
}

/// The logging metadata that ties a log line to its span (`trace_id`, `span_id`) while tracing is on.
public func tracingLogMetadata(_ settings: MeridianSettings) -> Logger.MetadataProvider? {
    settings.tracing.enabled ? OTel.makeLoggingMetadataProvider() : nil
}

/// Hummingbird's `TracingMiddleware` for every request but the probes and the scrape (`/health`, `/ready`,
/// `/metrics`): a cluster asks those every few seconds per pod, and each would be a trace of its own.
struct RequestTracingMiddleware: RouterMiddleware {
    typealias Context = MeridianRequestContext

    private let tracing = TracingMiddleware<MeridianRequestContext>(recordingHeaders: [.requestID])
    static let untraced: Set<String> = ["/health", "/ready", "/metrics"]

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws
        -> Response
    {
        if Self.untraced.contains(request.uri.path) { return try await next(request, context) }
        var request = request
        let parents = request.headers[values: .traceparent]
        if !parents.isEmpty, parents.count > 1 || !TraceContext.isValid(traceparent: parents[0]) {
            // Not a trace to continue (W3C: start a new one, and ignore `tracestate` with it).
            var head = request.head
            head.headerFields[.traceparent] = nil
            head.headerFields[Self.tracestate] = nil
            request = Request(head: head, body: request.body)
        }
        return try await tracing.handle(request, context: context, next: next)
    }

    static let tracestate = HTTPField.Name("tracestate")!
}

/// swift-otel's diagnostics on the process's log handler, without the `carrier` it attaches when a trace context
/// cannot be read: for an HTTP request that is every header, `Authorization` included.
struct TracingDiagnosticsHandler: LogHandler {
    var base: any LogHandler

    var metadata: Logger.Metadata {
        get { base.metadata }
        set { base.metadata = newValue }
    }

    var logLevel: Logger.Level {
        get { base.logLevel }
        set { base.logLevel = newValue }
    }

    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { base[metadataKey: key] }
        set { base[metadataKey: key] = newValue }
    }

    func log(event: LogEvent) {
        var event = event
        event.metadata?["carrier"] = nil
        base.log(event: event)
    }
}
