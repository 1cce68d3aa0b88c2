import Configuration
import Foundation
import Logging
import MeridianApp
import MeridianAuth
import MeridianStorage
import MeridianUsers
import Prometheus
import ServiceLifecycle
import Synchronization

#if canImport(FoundationNetworking)
    import FoundationNetworking
#endif

/// The whole platform in this process, as `meridian serve` assembles it (every role, embedded event log,
/// SQLite in a temporary data dir), listening on a free port; tests talk to it over real HTTP.
public final class AllInOne: Sendable {
    public let directory: String
    public let port: Int
    public let application: MeridianApplication
    private let group: ServiceGroup
    private let running: Task<Void, any Error>

    /// Starts it with these settings on top of test defaults (bcrypt cost 4, gateway limits off).
    public static func start(_ overrides: [String: ConfigValue] = [:]) async throws -> AllInOne {
        let directory = NSTemporaryDirectory() + "meridian-e2e-" + UUID().uuidString
        var values: [String: ConfigValue] = [
            "dataDir": .init(.string(directory), isSecret: false),
            "http.port": .init(.int(0), isSecret: false),
            "users.bcryptCost": .init(.int(4), isSecret: false),
            "gateway.userRate": .init(.double(0), isSecret: false),
            "gateway.addressRate": .init(.double(0), isSecret: false),
            "orders.sweepIntervalSeconds": .init(.double(0.2), isSecret: false),
            "log.level": .init(.string("warning"), isSecret: false),
            "auth.jwtSecret": .init(.string("an all-in-one test secret of 32 bytes or more"), isSecret: true),
        ]
        values.merge(overrides) { _, new in new }
        let settings = try MeridianSettings(reader: try await MeridianSettings.reader(overrides: values, environment: [:]))
        let registry = PrometheusCollectorRegistry()
        let port = PortPromise()
        var logger = Logger(label: "e2e")
        logger.logLevel = .warning
        let application = try await buildApplication(
            settings: settings, logger: logger, registry: registry,
            metrics: makeMetricsFactory(registry: registry), onServerRunning: { port.fulfil($0) })
        let group = application.serviceGroup(logger: logger, signals: [])
        let running = Task { try await group.run() }
        return AllInOne(directory: directory, port: await port.value, application: application, group: group, running: running)
    }

    private init(
        directory: String, port: Int, application: MeridianApplication, group: ServiceGroup, running: Task<Void, any Error>
    ) {
        self.directory = directory
        self.port = port
        self.application = application
        self.group = group
        self.running = running
    }

    /// Stops every service gracefully and removes the data dir.
    public func stop() async {
        await group.triggerGracefulShutdown()
        _ = try? await running.value
        try? FileManager.default.removeItem(atPath: directory)
    }

    /// Creates an admin the way `meridian users create-admin` does, and returns a token for it.
    public func admin(email: String = "admin@example.com", password: String = "correct horse battery") async throws -> String {
        guard let store = application.store else { throw AllInOneError("no store: no commerce role") }
        let register = RegisterUser(
            users: SQLUserStore(store: store), bcryptCost: application.settings.users.bcryptCost, logger: Logger(label: "e2e"))
        _ = try await register(email: email, password: password, name: "Admin", role: .admin)
        return try await client.login(email: email, password: password)
    }

    /// Registers a customer and returns a token for it.
    public func customer(_ email: String, password: String = "plum-orchard-42") async throws -> String {
        try await client.customer(email, password: password)
    }

    /// A client for this platform's HTTP API.
    public var client: APIClient { APIClient(port: port) }

    public func call(
        _ method: String, _ path: String, token: String? = nil, json: Any? = nil, headers: [String: String] = [:]
    ) async throws -> APIClient.Answer {
        try await client.call(method, path, token: token, json: json, headers: headers)
    }

    public func call(
        _ method: String, _ path: String, token: String? = nil, body: Data?, headers: [String: String] = [:]
    ) async throws -> APIClient.Answer {
        try await client.call(method, path, token: token, body: body, headers: headers)
    }

    public func eventually(
        _ path: String, token: String?, timeout: Duration = .seconds(20), _ done: (APIClient.Answer) -> Bool
    ) async throws -> APIClient.Answer {
        try await client.eventually(path, token: token, timeout: timeout, done)
    }
}

/// JSON calls to a Meridian process on 127.0.0.1 over real HTTP (URLSession).
public struct APIClient: Sendable {
    public var port: Int

    public init(port: Int) {
        self.port = port
    }

    /// An answer: status, headers and the body parsed as JSON (when it is).
    public struct Answer: Sendable, CustomStringConvertible {
        public var status: Int
        public var headers: [String: String]
        public var body: Data

        public var object: [String: Any] { (try? JSONSerialization.jsonObject(with: body) as? [String: Any]) ?? [:] }
        public var items: [[String: Any]] { object["items"] as? [[String: Any]] ?? [] }
        public var description: String { "\(status) \(String(decoding: body, as: UTF8.self))" }
    }

    /// One request to the platform.
    public func call(
        _ method: String, _ path: String, token: String? = nil, json: Any? = nil, headers: [String: String] = [:]
    ) async throws -> Answer {
        var body: Data?
        var headers = headers
        if let json {
            body = try JSONSerialization.data(withJSONObject: json)
            headers["Content-Type"] = headers["Content-Type"] ?? "application/json"
        }
        return try await call(method, path, token: token, body: body, headers: headers)
    }

    /// One request with a body as given (any bytes, any `Content-Type` in `headers`).
    public func call(
        _ method: String, _ path: String, token: String? = nil, body: Data?, headers: [String: String] = [:]
    ) async throws -> Answer {
        guard let url = URL(string: "http://127.0.0.1:\(port)\(path)") else { throw AllInOneError("not a path: \(path)") }
        var request = URLRequest(url: url)
        request.httpMethod = method
        request.timeoutInterval = 60
        if let token { request.setValue("Bearer \(token)", forHTTPHeaderField: "Authorization") }
        request.httpBody = body
        for (name, value) in headers { request.setValue(value, forHTTPHeaderField: name) }
        let (data, response) = try await URLSession.shared.data(for: request)
        let http = response as? HTTPURLResponse
        var fields: [String: String] = [:]
        for (name, value) in http?.allHeaderFields ?? [:] {
            if let name = name as? String, let value = value as? String { fields[name.lowercased()] = value }
        }
        return Answer(status: http?.statusCode ?? 0, headers: fields, body: data)
    }

    /// Registers a customer and returns a token for it.
    public func customer(_ email: String, password: String = "plum-orchard-42") async throws -> String {
        let registered = try await call("POST", "/api/users", json: ["email": email, "password": password, "name": email])
        guard registered.status == 201 else { throw AllInOneError("register \(email): \(registered)") }
        return try await login(email: email, password: password)
    }

    public func login(email: String, password: String) async throws -> String {
        let response = try await call("POST", "/api/auth/login", json: ["email": email, "password": password])
        guard let token = response.object["token"] as? String else { throw AllInOneError("login \(email): \(response)") }
        return token
    }

    /// Polls `path` until `done` holds for its answer, or fails after `timeout`.
    public func eventually(
        _ path: String, token: String?, timeout: Duration = .seconds(20), _ done: (Answer) -> Bool
    ) async throws -> Answer {
        let deadline = ContinuousClock.now.advanced(by: timeout)
        var last = try await call("GET", path, token: token)
        while !done(last) {
            guard ContinuousClock.now < deadline else { throw AllInOneError("\(path) never got there; last: \(last)") }
            try await Task.sleep(for: .milliseconds(50))
            last = try await call("GET", path, token: token)
        }
        return last
    }
}

public struct AllInOneError: Error, CustomStringConvertible {
    public var description: String
    public init(_ description: String) { self.description = description }
}

/// The port the server reports once it listens.
final class PortPromise: Sendable {
    private let state = Mutex<(port: Int?, waiter: CheckedContinuation<Int, Never>?)>((nil, nil))

    func fulfil(_ port: Int) {
        let waiter = state.withLock { state -> CheckedContinuation<Int, Never>? in
            state.port = port
            defer { state.waiter = nil }
            return state.waiter
        }
        waiter?.resume(returning: port)
    }

    var value: Int {
        get async {
            await withCheckedContinuation { continuation in
                let port = state.withLock { state -> Int? in
                    if state.port == nil { state.waiter = continuation }
                    return state.port
                }
                if let port { continuation.resume(returning: port) }
            }
        }
    }
}

extension AllInOne {
    /// Runs `body` against a platform started with `overrides`, and stops it afterwards, whatever happened.
    public static func with<T>(
        _ overrides: [String: ConfigValue] = [:], _ body: (AllInOne) async throws -> T
    ) async throws -> T {
        let platform = try await start(overrides)
        do {
            let result = try await body(platform)
            await platform.stop()
            return result
        } catch {
            await platform.stop()
            throw error
        }
    }
}
