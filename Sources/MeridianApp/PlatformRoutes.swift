import AsyncHTTPClient
import Foundation
import Hummingbird
import MeridianCore
import MeridianHTTP
import MeridianIngest
import MeridianMessaging
import MeridianStorage
import Metrics
import NIOHTTP1
import Prometheus
import SQLKit

/// Every route of a process, in the order the router gets them: the endpoints every role shares, the
/// ingest API when the ingestor runs, then the commerce roles' APIs.
public func platformRoutes(
    eventLog: any EventLog,
    ingestor: Ingestor?,
    registry: PrometheusCollectorRegistry,
    metrics: any MetricsFactory,
    store: (any SQLStore)? = nil,
    migrated: StartupGate? = nil,
    upstreams: [String: String] = [:],
    roles: [any APIRoutes] = []
) -> [any APIRoutes] {
    var routes: [any APIRoutes] = [
        OperationalRoutes(
            eventLog: eventLog, ingestor: ingestor, registry: registry, metrics: metrics, store: store, migrated: migrated,
            upstreams: upstreams)
    ]
    if let ingestor { routes.append(IngestController(ingestor: ingestor)) }
    return routes + roles
}

/// `/health`, `/ready` (with each dependency's state), `/metrics` and `/openapi.json`.
struct OperationalRoutes: APIRoutes {
    let eventLog: any EventLog
    let ingestor: Ingestor?
    let registry: PrometheusCollectorRegistry
    let store: (any SQLStore)?
    let migrated: StartupGate?
    /// The services the gateway forwards to: name → base URL.
    let upstreams: [String: String]
    let residentMemory: Metrics.Gauge
    let peakMemory: Metrics.Gauge

    init(
        eventLog: any EventLog, ingestor: Ingestor?, registry: PrometheusCollectorRegistry, metrics: any MetricsFactory,
        store: (any SQLStore)?, migrated: StartupGate?, upstreams: [String: String]
    ) {
        self.upstreams = upstreams
        self.eventLog = eventLog
        self.ingestor = ingestor
        self.registry = registry
        self.store = store
        self.migrated = migrated
        residentMemory = Metrics.Gauge(label: "meridian_process_resident_memory_bytes", factory: metrics)
        peakMemory = Metrics.Gauge(label: "meridian_process_peak_resident_memory_bytes", factory: metrics)
    }

    struct Readiness: Encodable {
        var status: String
        var checks: [String: String]
    }

    func addRoutes(to router: some RouterMethods<MeridianRequestContext>) {
        let healthy = ByteBuffer(string: #"{"status":"ok"}"#)
        router.get("/health") { _, _ in
            Response(status: .ok, headers: [.contentType: "application/json"], body: .init(byteBuffer: healthy))
        }
        router.get("/ready") { _, _ -> Response in
            let readiness = await readiness()
            return jsonResponse(readiness, status: readiness.status == "ready" ? .ok : .serviceUnavailable)
        }
        router.get("/metrics") { _, _ -> Response in
            if let memory = MeridianApp.residentMemory() {
                residentMemory.record(memory.current)
                peakMemory.record(memory.peak)
            }
            return Response(
                status: .ok,
                headers: [.contentType: "text/plain; version=0.0.4; charset=utf-8"],
                body: .init(byteBuffer: ByteBuffer(bytes: MetricsHelp.annotate(registry.emitToBuffer()))))
        }
        let document = ByteBuffer(bytes: PackageResources.openapi_json)
        router.get("/openapi.json") { _, _ in
            Response(status: .ok, headers: [.contentType: "application/json"], body: .init(byteBuffer: document))
        }
    }

    /// Ready when the event log answers, the store answers and its migrations ran, and the ingestor is not draining.
    func readiness() async -> Readiness {
        var checks: [String: String] = [:]
        checks["event_log"] = await eventLog.isReachable() ? "ok" : "unreachable"
        if let store {
            do {
                try await store.withDatabase { try await $0.raw("SELECT 1 AS one").run() }
                checks["storage"] = "ok"
            } catch {
                checks["storage"] = "unreachable"
            }
        }
        if let migrated { checks["migrations"] = migrated.isOpen ? "ok" : "pending" }
        if let ingestor { checks["ingest"] = ingestor.isDraining ? "draining" : "ok" }
        for (service, url) in upstreams {
            var request = HTTPClientRequest(url: url + "/health")
            request.method = .GET
            let status = try? await HTTPClient.shared.execute(request, timeout: .seconds(2)).status
            checks["service:\(service)"] = status == .ok ? "ok" : "unreachable"
        }
        let ready = checks.values.allSatisfy { $0 == "ok" }
        return Readiness(status: ingestor?.isDraining == true ? "draining" : ready ? "ready" : "unavailable", checks: checks)
    }
}
