import Foundation
import HTTPTypes
import Hummingbird
import MeridianApp
import MeridianCarts
import MeridianHTTP
import MeridianProducts
import MeridianServiceClients
import MeridianTestSupport
import MeridianUsers
import Prometheus
import Synchronization
import Testing

/// Records the routes a role adds instead of serving them.
final class RouteRecorder: RouterMethods, Sendable {
    typealias Context = MeridianRequestContext
    let routes = Mutex<Set<String>>([])

    @discardableResult func on<Responder: HTTPResponder>(
        _ path: RouterPath, method: HTTPRequest.Method, responder: Responder
    ) -> Self where Responder.Context == Context {
        // Hummingbird writes parameters as `:name`, OpenAPI as `{name}`; the one catch-all (`/objects/**`) is `{key}`.
        let components = path.description.split(separator: "/").map {
            $0.hasPrefix(":") ? "{\($0.dropFirst())}" : $0 == "**" ? "{key}" : String($0)
        }
        routes.withLock { _ = $0.insert("\(method.rawValue) /" + components.joined(separator: "/")) }
        return self
    }

    func add(middleware: any MiddlewareProtocol<Request, Response, Context>) -> Self { self }
}

@Suite struct OpenAPITests {
    @Test func theServedDocumentListsExactlyTheRoutesTheServerHas() async throws {
        try await AllInOne.with { platform in
            let answer = try await platform.call("GET", "/openapi.json")
            #expect(answer.status == 200)
            #expect(answer.object["openapi"] as? String == "3.1.0")
            let paths = try #require(answer.object["paths"] as? [String: [String: Any]])
            let methods: Set<String> = ["get", "head", "put", "post", "delete", "patch"]
            var documented = Set<String>()
            for (path, operations) in paths {
                for method in operations.keys where methods.contains(method) {
                    documented.insert("\(method.uppercased()) \(path)")
                }
            }

            let application = platform.application
            let registry = PrometheusCollectorRegistry()
            let recorder = RouteRecorder()
            for api in platformRoutes(
                eventLog: application.eventLog, ingestor: application.ingestor, registry: registry,
                metrics: makeMetricsFactory(registry: registry), roles: application.routes)
            {
                api.addRoutes(to: recorder)
            }
            // The /internal routes are served only in split mode, where another process calls them: all of them here.
            let store = try #require(application.store)
            InternalRoutes(
                catalog: StoreProductCatalog(products: SQLProductStore(store: store)),
                carts: StoreCartContents(carts: SQLCartStore(store: store)),
                users: StoreUserDirectory(users: SQLUserStore(store: store))
            ).addRoutes(to: recorder)
            // The ingest endpoints answer other methods with 405 + Allow: those are not operations.
            let served = recorder.routes.withLock { $0 }.filter { route in
                !["GET", "PUT", "DELETE", "PATCH"].contains { route.hasPrefix("\($0) /events") }
            }
            #expect(served.isSuperset(of: ["POST /events", "POST /api/orders", "GET /api/products/{id}", "GET /openapi.json"]))
            #expect(served.subtracting(documented).sorted() == [], "served but not documented")
            #expect(documented.subtracting(served).sorted() == [], "documented but not served")

            // Readiness names each dependency.
            let ready = try await platform.call("GET", "/ready")
            #expect(ready.status == 200)
            #expect(
                ready.object["checks"] as? [String: String]
                    == ["event_log": "ok", "storage": "ok", "migrations": "ok", "ingest": "ok"])
        }
    }
}
