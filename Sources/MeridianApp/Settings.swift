import Configuration
import Foundation
import MeridianAuth
import MeridianCore
import MeridianEventLog
import MeridianHTTP
import MeridianIngest
import MeridianKafka
import MeridianNotifications
import MeridianOrders
import MeridianPayments
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
    public var dataDirectory: String
    public var eventLog: EventLogKind
    public var topics: Topics
    public var topicPartitions: Int32
    public var embedded: EmbeddedEventLog.Configuration
    public var kafka: KafkaConfiguration
    public var ingest: Ingestor.Configuration
    /// Where the services keep their SQL state: a SQLite file or a PostgreSQL URL.
    public var storageURL: String
    /// SQLite's `synchronous` for the embedded store: FULL or NORMAL.
    public var storageSynchronous: String
    /// The HS256 secret for access tokens; empty means one kept in the data dir (embedded mode).
    public var jwtSecret: String
    public var tokenLifetime: Duration
    /// How long a process trusts its last answer to "is this account still enabled?" (0: ask every time).
    public var accountCheckInterval: Duration
    public var users: UsersController.Configuration
    public var gateway: GatewayMiddleware.Configuration
    public var orders: OrdersController.Configuration
    /// How often the orders sweeper looks for expired reservations.
    public var ordersSweepInterval: Duration
    /// How long past its expiry the products service still keeps a reservation whose order never ended it.
    public var reservationGrace: Duration
    public var payments: SimulatedPaymentProvider.Configuration
    public var notifications: NotificationSettings
    /// Where the roles this process does not run answer (split mode): role → base URL.
    public var serviceURLs: [Role: String]
    /// The one origin browsers may call the API from (`*` for any); empty sends no CORS headers.
    public var corsOrigin: String
    public var shutdownTimeout: Duration
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
        limits = RequestLimits()
        limits.jsonBodyBytes = try http.int("maxJsonBodyBytes", default: limits.jsonBodyBytes, in: 1024...(64 * 1_048_576))
        limits.uriBytes = try http.int("maxUriBytes", default: limits.uriBytes, in: 256...65_536)
        dataDirectory = try config.string("dataDir", default: "./.meridian")
        guard !dataDirectory.isEmpty else { throw config.invalid("dataDir", "must not be empty") }

        eventLog = EventLogKind(rawValue: try config.choice("eventLog", default: "embedded", ["embedded", "kafka"]))!
        let prefix = try config.string("topics.prefix", default: "")
        guard prefix.utf8.count <= 100, prefix.utf8.allSatisfy({ Self.topicCharacters.contains($0) }) else {
            throw config.invalid("topics.prefix", "'\(prefix)' may hold only letters, digits, '.', '_' and '-' (at most 100)")
        }
        topics = Topics(prefix: prefix)
        topicPartitions = Int32(try config.int("topics.partitions", default: 6, in: 1...1024))
        embedded = try Self.embedded(config.scoped(to: "embedded"), dataDirectory: dataDirectory, partitions: topicPartitions)
        kafka = try Self.kafka(config.scoped(to: "kafka"), partitions: topicPartitions, environment: environment)
        ingest = try Self.ingest(config.scoped(to: "ingest"))

        storageURL = try config.string(
            "storage.url", default: "sqlite:" + (dataDirectory as NSString).appendingPathComponent("meridian.sqlite"),
            isSecret: true)
        guard storageURL.hasPrefix("sqlite:") || storageURL.hasPrefix("postgres://") || storageURL.hasPrefix("postgresql://")
        else {
            throw config.invalid("storage.url", "use sqlite:PATH or postgres://user:password@host:port/database")
        }
        storageSynchronous = try config.choice("storage.synchronous", default: "FULL", ["FULL", "NORMAL"])
        jwtSecret = try config.string("auth.jwtSecret", default: "", isSecret: true)
        if !jwtSecret.isEmpty && jwtSecret.utf8.count < 32 {
            throw config.invalid("auth.jwtSecret", "must be at least 32 bytes")
        }
        tokenLifetime = .seconds(try config.int("auth.tokenLifetimeSeconds", default: 3600, in: 60...(30 * 86_400)))
        accountCheckInterval = try config.seconds("auth.accountCacheSeconds", default: 2, in: 0...60)
        users = UsersController.Configuration()
        users.bcryptCost = UInt8(try config.int("users.bcryptCost", default: 12, in: 4...31))
        let gatewayConfig = config.scoped(to: "gateway")
        gateway = GatewayMiddleware.Configuration()
        gateway.userRate = try gatewayConfig.double("userRate", default: gateway.userRate, in: 0...1_000_000)
        gateway.userBurst = try gatewayConfig.double("userBurst", default: gateway.userBurst, in: 0...1_000_000)
        gateway.addressRate = try gatewayConfig.double("addressRate", default: gateway.addressRate, in: 0...1_000_000)
        gateway.addressBurst = try gatewayConfig.double("addressBurst", default: gateway.addressBurst, in: 0...1_000_000)
        corsOrigin = try gatewayConfig.string("corsOrigin", default: "")
        orders = OrdersController.Configuration()
        orders.reservationTTL = .seconds(try config.int("orders.reservationTtlSeconds", default: 600, in: 1...(7 * 86_400)))
        ordersSweepInterval = try config.seconds("orders.sweepIntervalSeconds", default: 5, in: 0.01...3600)
        reservationGrace = .seconds(try config.int("products.reservationGraceSeconds", default: 300, in: 0...(7 * 86_400)))
        payments = SimulatedPaymentProvider.Configuration()
        payments.failureRate = try config.double("payments.failureRate", default: 0, in: 0...1)
        payments.latency = .milliseconds(try config.int("payments.latencyMs", default: 0, in: 0...60_000))
        notifications = try NotificationSettings(reader: config.scoped(to: "notifications"))
        shutdownTimeout = try config.seconds("shutdown.timeoutSeconds", default: 30, in: 0.1...3600)
        logLevel = try config.choice(
            "log.level", default: "info", ["trace", "debug", "info", "notice", "warning", "error", "critical"])
        logFormat = try config.choice("log.format", default: "auto", ["auto", "json", "text"])
        serviceURLs = [:]
        for role in Role.allCases where role != .gateway {
            let key = "services.\(role.rawValue)Url"
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
                    key: "services.\(needed.rawValue)Url",
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

    private static func embedded(_ config: SettingsReader, dataDirectory: String, partitions: Int32) throws
        -> EmbeddedEventLog.Configuration
    {
        var embedded = EmbeddedEventLog.Configuration(
            path: try config.string("path", default: (dataDirectory as NSString).appendingPathComponent("eventlog.sqlite")))
        embedded.defaultPartitions = partitions
        embedded.synchronous = try config.choice("synchronous", default: "FULL", ["FULL", "NORMAL", "EXTRA"])
        embedded.maxGroupCommit = try config.int("maxGroupCommit", default: 4096, in: 1...1_000_000)
        return embedded
    }

    private static func kafka(_ config: SettingsReader, partitions: Int32, environment: [String: String]) throws
        -> KafkaConfiguration
    {
        var kafka = KafkaConfiguration()
        kafka.brokers = try config.string("brokers", default: kafka.brokers)
        guard !kafka.brokers.isEmpty else { throw config.invalid("brokers", "name at least one HOST:PORT") }
        kafka.clientID = try config.string("clientId", default: kafka.clientID)
        kafka.lingerMilliseconds = try config.int("lingerMs", default: kafka.lingerMilliseconds, in: 0...60_000)
        kafka.batchBytes = try config.int("batchBytes", default: kafka.batchBytes, in: 1...2_147_483_647)
        kafka.compression = try config.choice(
            "compression", default: kafka.compression, ["none", "gzip", "snappy", "lz4", "zstd"])
        kafka.messageTimeoutMilliseconds = try config.int(
            "messageTimeoutMs", default: kafka.messageTimeoutMilliseconds, in: 1...2_147_483_647)
        kafka.queueMaxMessages = try config.int("queueMaxMessages", default: kafka.queueMaxMessages, in: 1...10_000_000)
        kafka.queueMaxKilobytes = try config.int("queueMaxKbytes", default: kafka.queueMaxKilobytes, in: 1...2_147_483_647)
        kafka.statisticsIntervalMilliseconds = try config.int(
            "statisticsIntervalMs", default: kafka.statisticsIntervalMilliseconds, in: 0...86_400_000)
        kafka.replicationFactor = try config.int("replicationFactor", default: kafka.replicationFactor, in: -1...32)
        guard kafka.replicationFactor != 0 else { throw config.invalid("replicationFactor", "must be -1 or 1...32") }
        kafka.fetchWaitMilliseconds = try config.int("fetchWaitMs", default: kafka.fetchWaitMilliseconds, in: 0...60_000)
        kafka.partitions = partitions
        for entry in try config.stringArray("properties", default: []) {
            guard let equals = entry.firstIndex(of: "="), equals != entry.startIndex else {
                throw config.invalid("properties", "'\(entry)' is not name=value")
            }
            kafka.properties[String(entry[..<equals])] = String(entry[entry.index(after: equals)...])
        }
        kafka.properties.merge(Self.kafkaPropertiesFromEnvironment(environment)) { _, environment in environment }
        return kafka
    }

    private static func ingest(_ config: SettingsReader) throws -> Ingestor.Configuration {
        var ingest = Ingestor.Configuration()
        ingest.ack = AckMode(rawValue: try config.choice("ack", default: "durable", ["durable", "enqueued"]))!
        ingest.decoder.maxEventBytes = try config.int(
            "maxEventBytes", default: ingest.decoder.maxEventBytes, in: 256...(64 * 1_048_576))
        ingest.decoder.maxIDLength = try config.int("maxIdLength", default: ingest.decoder.maxIDLength, in: 1...4096)
        ingest.decoder.typePattern = try config.string("typePattern", default: ingest.decoder.typePattern)
        if (try? NSRegularExpression(pattern: ingest.decoder.typePattern)) == nil {
            throw config.invalid("typePattern", "not a valid regular expression")
        }
        ingest.decoder.allowedTypes = Set(try config.stringArray("allowedTypes", default: []))
        ingest.decoder.defaultSource = try config.string("defaultSource", default: ingest.decoder.defaultSource)
        ingest.maxBatchEvents = try config.int("maxBatchEvents", default: ingest.maxBatchEvents, in: 1...1_000_000)
        ingest.maxBatchBytes = try config.int("maxBatchBytes", default: ingest.maxBatchBytes, in: 256...(1 << 30))
        ingest.duplicateWindowSeconds = try config.double(
            "duplicateWindowSeconds", default: ingest.duplicateWindowSeconds, in: 0...(7 * 86_400))
        ingest.duplicateCapacity = try config.int("duplicateCapacity", default: ingest.duplicateCapacity, in: 0...100_000_000)
        ingest.apiKeys = Set(try config.stringArray("apiKeys", default: [], isSecret: true))
        ingest.admission.globalRate = try config.double("globalRate", default: 0, in: 0...100_000_000)
        ingest.admission.globalBurst = try config.double("globalBurst", default: 0, in: 0...100_000_000)
        ingest.admission.clientRate = try config.double("clientRate", default: 0, in: 0...100_000_000)
        ingest.admission.clientBurst = try config.double("clientBurst", default: 0, in: 0...100_000_000)
        ingest.admission.maxClients = try config.int("maxClients", default: ingest.admission.maxClients, in: 1...10_000_000)
        ingest.admission.maxInflightEvents = try config.int(
            "maxInflightEvents", default: ingest.admission.maxInflightEvents, in: 1...100_000_000)
        ingest.admission.maxInflightBytes = try config.int(
            "maxInflightBytes", default: ingest.admission.maxInflightBytes, in: 1...(1 << 40))
        return ingest
    }

    /// `MERIDIAN_KAFKA_PROPERTY_<NAME>` variables: `<NAME>` lower-cased with `_` read as `.`
    /// (`MERIDIAN_KAFKA_PROPERTY_SASL_MECHANISM` → `sasl.mechanism`).
    static func kafkaPropertiesFromEnvironment(_ environment: [String: String]) -> [String: String] {
        let prefix = "MERIDIAN_KAFKA_PROPERTY_"
        var properties: [String: String] = [:]
        for (name, value) in environment where name.hasPrefix(prefix) && name.count > prefix.count {
            properties[name.dropFirst(prefix.count).lowercased().replacingOccurrences(of: "_", with: ".")] = value
        }
        return properties
    }
}

/// The settings of the notifications role.
public struct NotificationSettings: Sendable {
    public enum Channel: String, Sendable, CaseIterable {
        case log, webhook, smtp
    }

    public var channel: Channel
    public var webhookURL: String
    public var smtpHost: String
    public var smtpPort: Int
    public var smtpFrom: String
    /// A directory of `<type>.subject.mustache` / `<type>.body.mustache` files replacing the built-in templates.
    public var templatesDirectory: String?
    public var notifier: Notifier.Configuration

    init(reader config: SettingsReader) throws {
        channel = Channel(rawValue: try config.choice("channel", default: "log", Channel.allCases.map(\.rawValue)))!
        webhookURL = try config.string("webhookUrl", default: "", isSecret: true)
        if channel == .webhook && !(webhookURL.hasPrefix("http://") || webhookURL.hasPrefix("https://")) {
            throw config.invalid("webhookUrl", "the webhook channel needs an http(s) URL")
        }
        smtpHost = try config.string("smtpHost", default: "127.0.0.1")
        smtpPort = try config.int("smtpPort", default: 25, in: 1...65535)
        smtpFrom = try config.string("smtpFrom", default: "shop@meridian.localhost")
        templatesDirectory = try config.optionalString("templatesDir")
        notifier = Notifier.Configuration()
        notifier.attempts = try config.int("attempts", default: notifier.attempts, in: 1...100)
        notifier.firstBackoff = .milliseconds(try config.int("backoffMs", default: 200, in: 0...600_000))
    }
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
