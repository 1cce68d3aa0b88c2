import Configuration
import Foundation
import MeridianAuth
import MeridianCore
import MeridianEventLog
import MeridianGateway
import MeridianHTTP
import MeridianIngest
import MeridianKafka
import MeridianNotifications
import MeridianOrders
import MeridianPayments
import MeridianPostgres
import MeridianServiceClients
import MeridianUsers

/// Every setting of `meridian serve`, read once from the layered configuration.
///
/// Keys are read with swift-configuration's `ConfigReader`; the environment variable of a key is
/// `MERIDIAN_` + the key in upper snake case (`kafka.lingerMs` → `MERIDIAN_KAFKA_LINGER_MS`).
/// docs/configuration.md lists every key read here; a test fails when one is missing there.
public struct MeridianSettings: Sendable {
    /// The roles this process runs.
    public var roles: [Role]
    public var host: String
    public var port: Int
    /// Largest JSON body and request target the HTTP API accepts.
    public var limits: RequestLimits
    /// Proxies whose `Forwarded`, `X-Forwarded-For` or `CF-Connecting-IP` name the client (`http.trustedProxies`).
    public var trustedProxies: [CIDR]
    public var dataDirectory: String
    public var eventLog: EventLogKind
    public var topics: Topics
    public var topicPartitions: Int32
    public var embedded: EmbeddedEventLog.Configuration
    public var kafka: KafkaConfiguration
    public var ingest: Ingestor.Configuration
    /// Bulk CSV ingestion (`ingest.job*`, `ingest.maxErrorRate`, `ingest.maxRecordBytes`).
    public var ingestJobs: IngestJobsSettings
    /// The analytics role's windows (`analytics.*`).
    public var analytics: AnalyticsSettings
    /// Whether the roles here use the object store (images, products, ingest jobs, analytics' object sink).
    public var usesObjects: Bool
    /// Where the services keep their SQL state: a SQLite file or a PostgreSQL URL.
    public var storageURL: String
    /// SQLite's `synchronous` for the embedded store: FULL or NORMAL.
    public var storageSynchronous: String
    /// PostgreSQL only: the most connections this process's pool opens.
    public var storageMaxConnections: Int
    /// The HS256 secret for access tokens; empty means one kept in the data dir (embedded mode).
    public var jwtSecret: String
    public var tokenLifetime: Duration
    /// How long a process trusts its last answer to "is this account still enabled?" (0: ask every time).
    public var accountCheckInterval: Duration
    public var users: UsersController.Configuration
    public var gateway: RateLimitMiddleware.Configuration
    public var orders: OrdersController.Configuration
    /// How often the orders sweeper looks for expired reservations.
    public var ordersSweepInterval: Duration
    /// How long past its expiry the products service still keeps a reservation whose order never ended it.
    public var reservationGrace: Duration
    public var payments: SimulatedPaymentProvider.Configuration
    public var notifications: NotificationSettings
    /// Where objects are kept (`objects.*`).
    public var objects: ObjectsSettings
    /// The images role (`images.*`).
    public var images: ImagesSettings
    /// Where the roles this process does not run answer (split mode): role → base URL.
    public var serviceURLs: [Role: String]
    /// Timeouts and retries of the calls to those roles.
    public var serviceCalls: ServiceClient.Configuration
    /// The one origin browsers may call the API from (`*` for any); empty sends no CORS headers.
    public var corsOrigin: String
    public var shutdownTimeout: Duration
    /// Distributed tracing over OTLP (`tracing.*`).
    public var tracing: TracingSettings
    public var logLevel: String
    /// `auto` (text on a terminal, else JSON lines), `json` or `text`.
    public var logFormat: String

    /// The roles `meridian serve --role` knows.
    public enum Role: String, Sendable, CaseIterable {
        case gateway
        case ingestor
        case users
        case products
        case carts
        case orders
        case payments
        case notifications
        case images
        /// Bulk CSV ingestion: the jobs' API and the service that runs them.
        case ingestJobs = "ingest-jobs"
        /// Streaming analytics: the jobs' event-time windows, to the results topic and the SQL sink.
        case analytics

        /// The role in setting keys (`services.ingestJobsUrl`).
        public var settingName: String {
            let parts = rawValue.split(separator: "-")
            return parts.enumerated().map { $0.offset == 0 ? String($0.element) : $0.element.capitalized }.joined()
        }
    }

    /// Which adapter of the event-log port to use.
    public enum EventLogKind: String, Sendable {
        case embedded, kafka
    }

    /// A setting with a value that cannot be used (kept for callers that name it through the settings).
    public typealias InvalidSetting = MeridianApp.InvalidSetting

    /// Warnings about the configuration: variables and config-file keys that no setting reads.
    public var warnings: [String] = []

    /// Reads and validates every setting; fails with the offending key, its source and what is accepted.
    ///
    /// - Parameter environment: where `MERIDIAN_KAFKA_PROPERTY_<NAME>` variables are looked up, and
    ///   unknown `MERIDIAN_*` variables are found.
    public init(reader config: SettingsReader, environment: [String: String] = ProcessInfo.processInfo.environment) throws {
        let roleNames = try config.stringArray("roles", default: Role.allCases.map(\.rawValue))
        roles = try roleNames.map { name in
            guard let role = Role(rawValue: name.trimmingCharacters(in: .whitespaces)) else {
                throw config.invalid(
                    "roles", "unknown role '\(name)'; accepted: \(Role.allCases.map(\.rawValue).joined(separator: ", "))")
            }
            return role
        }
        guard !roles.isEmpty else { throw config.invalid("roles", "name at least one role") }
        let http = config.scoped(to: "http")
        host = try http.string("host", default: "127.0.0.1")
        guard !host.isEmpty else { throw http.invalid("host", "must not be empty") }
        port = try http.int("port", default: 8080, in: 0...65535)
        limits = try RequestLimits(reader: http)
        trustedProxies = try http.stringArray("trustedProxies", default: []).map { entry in
            guard let network = CIDR(entry) else {
                throw http.invalid("trustedProxies", "'\(entry)' is not an address or a CIDR network such as 10.0.0.0/8")
            }
            return network
        }
        dataDirectory = try config.string("dataDir", default: "./.meridian")
        guard !dataDirectory.isEmpty else { throw config.invalid("dataDir", "must not be empty") }

        eventLog = EventLogKind(rawValue: try config.choice("eventLog", default: "embedded", ["embedded", "kafka"]))!
        let prefix = try config.string("topics.prefix", default: "")
        guard prefix.utf8.count <= 100, prefix.utf8.allSatisfy({ Self.topicCharacters.contains($0) }) else {
            throw config.invalid("topics.prefix", "'\(prefix)' may hold only letters, digits, '.', '_' and '-' (at most 100)")
        }
        topics = Topics(prefix: prefix)
        topicPartitions = Int32(try config.int("topics.partitions", default: 6, in: 1...1024))
        embedded = try EmbeddedEventLog.Configuration(
            reader: config.scoped(to: "embedded"), dataDirectory: dataDirectory, partitions: topicPartitions)
        kafka = try KafkaConfiguration(reader: config.scoped(to: "kafka"), partitions: topicPartitions, environment: environment)
        ingest = try Ingestor.Configuration(reader: config.scoped(to: "ingest"))
        ingestJobs = try IngestJobsSettings(reader: config.scoped(to: "ingest"))
        analytics = try AnalyticsSettings(reader: config.scoped(to: "analytics"), environment: environment)

        storageURL = try config.string(
            "storage.url", default: "sqlite:" + (dataDirectory as NSString).appendingPathComponent("meridian.sqlite"),
            isSecret: true)
        guard storageURL.hasPrefix("sqlite:") || storageURL.hasPrefix("postgres://") || storageURL.hasPrefix("postgresql://")
        else {
            throw config.invalid("storage.url", "use sqlite:PATH or postgres://user:password@host:port/database")
        }
        if !storageURL.hasPrefix("sqlite:"), let problem = PostgresStore.optionsProblem(in: storageURL) {
            throw config.invalid("storage.url", problem)
        }
        storageSynchronous = try config.choice("storage.synchronous", default: "FULL", ["FULL", "NORMAL"])
        storageMaxConnections = try config.int("storage.maxConnections", default: 20, in: 1...1000)
        jwtSecret = try config.string("auth.jwtSecret", default: "", isSecret: true)
        if !jwtSecret.isEmpty && jwtSecret.utf8.count < 32 {
            throw config.invalid("auth.jwtSecret", "must be at least 32 bytes")
        }
        tokenLifetime = .seconds(try config.int("auth.tokenLifetimeSeconds", default: 3600, in: 60...(30 * 86_400)))
        accountCheckInterval = try config.seconds("auth.accountCacheSeconds", default: 2, in: 0...60)
        users = try UsersController.Configuration(reader: config.scoped(to: "users"))
        gateway = try RateLimitMiddleware.Configuration(reader: config.scoped(to: "gateway"))
        corsOrigin = try config.string("gateway.corsOrigin", default: "")
        orders = try OrdersController.Configuration(reader: config.scoped(to: "orders"))
        ordersSweepInterval = try config.seconds("orders.sweepIntervalSeconds", default: 5, in: 0.01...3600)
        reservationGrace = .seconds(try config.int("products.reservationGraceSeconds", default: 300, in: 0...(7 * 86_400)))
        payments = try SimulatedPaymentProvider.Configuration(reader: config.scoped(to: "payments"))
        notifications = try NotificationSettings(reader: config.scoped(to: "notifications"))
        usesObjects =
            roles.contains(.images) || roles.contains(.products) || roles.contains(.ingestJobs)
            || (roles.contains(.analytics) && analytics.objectSink)
        objects = try ObjectsSettings(
            reader: config.scoped(to: "objects"), dataDirectory: dataDirectory,
            publicURL: "http://\(["0.0.0.0", "::", "[::]"].contains(host) ? "127.0.0.1" : host):\(port)",
            environment: environment,
            storeUsed: usesObjects)
        images = try ImagesSettings(reader: config.scoped(to: "images"))
        serviceCalls = try ServiceClient.Configuration(reader: config.scoped(to: "services"))
        shutdownTimeout = try config.seconds("shutdown.timeoutSeconds", default: 30, in: 0.1...3600)
        tracing = try TracingSettings(reader: config.scoped(to: "tracing"))
        logLevel = try config.choice(
            "log.level", default: "info", ["trace", "debug", "info", "notice", "warning", "error", "critical"])
        logFormat = try config.choice("log.format", default: "auto", ["auto", "json", "text"])
        serviceURLs = [:]
        // The images role is called by no other role; the gateway forwards to every other one.
        for role in Role.allCases where ![.gateway, .images].contains(role) {
            let key = "services.\(role.settingName)Url"
            guard let url = try config.optionalString(key), !url.isEmpty else { continue }
            guard let parsed = URLComponents(string: url), ["http", "https"].contains(parsed.scheme), parsed.host != nil else {
                throw config.invalid(key, "'\(url)' is not an http(s) URL")
            }
            serviceURLs[role] = url.hasSuffix("/") ? String(url.dropLast()) : url
        }
        for (role, needs) in [(Role.carts, [Role.products]), (.orders, [.products, .carts]), (.notifications, [.users])]
        where roles.contains(role) {
            for needed in needs where !roles.contains(needed) && serviceURLs[needed] == nil {
                throw InvalidSetting(
                    key: "services.\(needed.settingName)Url",
                    reason: "\(role.rawValue) needs the \(needed.rawValue) service: run it in this process or set its URL")
            }
        }
        // Every role that checks tokens asks the users service whether the account is still enabled.
        let tokenRoles: [Role] = [.gateway, .products, .carts, .orders, .payments, .notifications]
        if !roles.contains(.users), serviceURLs[.users] == nil, let role = roles.first(where: tokenRoles.contains) {
            throw InvalidSetting(
                key: "services.usersUrl",
                reason:
                    "\(role.rawValue) checks tokens and asks the users service whether each account is still enabled: run users in this process or set its URL"
            )
        }
        warnings = config.unknownKeyWarnings(environment: environment)
    }

    private static let topicCharacters = Set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-".utf8)
}

extension MeridianSettings {
    /// The layered configuration (see ``SettingsReader/layered(overrides:environment:configFile:accessReporter:)``).
    public static func reader(
        overrides: [String: ConfigValue] = [:],
        environment: [String: String] = ProcessInfo.processInfo.environment,
        configFile: String? = nil,
        accessReporter: (any AccessReporter)? = nil
    ) async throws -> SettingsReader {
        try await SettingsReader.layered(
            overrides: overrides, environment: environment, configFile: configFile, accessReporter: accessReporter)
    }
}
