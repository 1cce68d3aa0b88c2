import Configuration
import Foundation
import MeridianAuth
import MeridianCore
import MeridianEventLog
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

    /// A setting with a value that cannot be used.
    public struct InvalidSetting: Error, CustomStringConvertible {
        public var key: String
        public var reason: String
        public var description: String { "invalid setting \(key): \(reason)" }
    }

    /// Reads the settings; fails with the offending key on a bad value.
    ///
    /// - Parameter environment: where `MERIDIAN_KAFKA_PROPERTY_<NAME>` variables are looked up.
    public init(reader config: ConfigReader, environment: [String: String] = ProcessInfo.processInfo.environment) throws {
        let roleNames = config.stringArray(forKey: "roles", default: Role.allCases.map(\.rawValue))
        roles = try roleNames.map { name in
            guard let role = Role(rawValue: name) else {
                throw InvalidSetting(
                    key: "roles",
                    reason: "unknown role '\(name)'; known: \(Role.allCases.map(\.rawValue).joined(separator: ", "))")
            }
            return role
        }
        let http = config.scoped(to: "http")
        host = http.string(forKey: "host", default: "127.0.0.1")
        port = http.int(forKey: "port", default: 8080)
        guard (0...65535).contains(port) else { throw InvalidSetting(key: "http.port", reason: "\(port) is not a port") }
        dataDirectory = config.string(forKey: "dataDir", default: "./.meridian")

        let kindName = config.string(forKey: "eventLog", default: "embedded")
        guard let kind = EventLogKind(rawValue: kindName) else {
            throw InvalidSetting(key: "eventLog", reason: "'\(kindName)' is neither embedded nor kafka")
        }
        eventLog = kind
        topics = Topics(prefix: config.string(forKey: "topics.prefix", default: ""))
        topicPartitions = Int32(clamping: config.int(forKey: "topics.partitions", default: 6))

        let embeddedConfig = config.scoped(to: "embedded")
        embedded = EmbeddedEventLog.Configuration(
            path: embeddedConfig.string(
                forKey: "path", default: (dataDirectory as NSString).appendingPathComponent("eventlog.sqlite")))
        embedded.defaultPartitions = topicPartitions
        embedded.synchronous = embeddedConfig.string(forKey: "synchronous", default: "FULL")
        embedded.maxGroupCommit = embeddedConfig.int(forKey: "maxGroupCommit", default: 4096)

        let kafkaConfig = config.scoped(to: "kafka")
        kafka = KafkaConfiguration()
        kafka.brokers = kafkaConfig.string(forKey: "brokers", default: kafka.brokers)
        kafka.clientID = kafkaConfig.string(forKey: "clientId", default: kafka.clientID)
        kafka.lingerMilliseconds = kafkaConfig.int(forKey: "lingerMs", default: kafka.lingerMilliseconds)
        kafka.batchBytes = kafkaConfig.int(forKey: "batchBytes", default: kafka.batchBytes)
        kafka.compression = kafkaConfig.string(forKey: "compression", default: kafka.compression)
        kafka.messageTimeoutMilliseconds = kafkaConfig.int(
            forKey: "messageTimeoutMs", default: kafka.messageTimeoutMilliseconds)
        kafka.queueMaxMessages = kafkaConfig.int(forKey: "queueMaxMessages", default: kafka.queueMaxMessages)
        kafka.queueMaxKilobytes = kafkaConfig.int(forKey: "queueMaxKbytes", default: kafka.queueMaxKilobytes)
        kafka.statisticsIntervalMilliseconds = kafkaConfig.int(
            forKey: "statisticsIntervalMs", default: kafka.statisticsIntervalMilliseconds)
        kafka.replicationFactor = kafkaConfig.int(forKey: "replicationFactor", default: kafka.replicationFactor)
        kafka.fetchWaitMilliseconds = kafkaConfig.int(forKey: "fetchWaitMs", default: kafka.fetchWaitMilliseconds)
        guard (0...60_000).contains(kafka.fetchWaitMilliseconds) else {
            throw InvalidSetting(key: "kafka.fetchWaitMs", reason: "must be 0...60000")
        }
        kafka.partitions = topicPartitions
        for entry in kafkaConfig.stringArray(forKey: "properties", default: []) {
            guard let equals = entry.firstIndex(of: "=") else {
                throw InvalidSetting(key: "kafka.properties", reason: "'\(entry)' is not name=value")
            }
            kafka.properties[String(entry[..<equals])] = String(entry[entry.index(after: equals)...])
        }
        kafka.properties.merge(Self.kafkaPropertiesFromEnvironment(environment)) { _, environment in environment }

        let ingestConfig = config.scoped(to: "ingest")
        ingest = Ingestor.Configuration()
        let ackName = ingestConfig.string(forKey: "ack", default: "durable")
        guard let ack = AckMode(rawValue: ackName) else {
            throw InvalidSetting(key: "ingest.ack", reason: "'\(ackName)' is neither durable nor enqueued")
        }
        ingest.ack = ack
        ingest.decoder.maxEventBytes = ingestConfig.int(forKey: "maxEventBytes", default: ingest.decoder.maxEventBytes)
        ingest.decoder.maxIDLength = ingestConfig.int(forKey: "maxIdLength", default: ingest.decoder.maxIDLength)
        ingest.decoder.typePattern = ingestConfig.string(forKey: "typePattern", default: ingest.decoder.typePattern)
        ingest.decoder.allowedTypes = Set(ingestConfig.stringArray(forKey: "allowedTypes", default: []))
        ingest.decoder.defaultSource = ingestConfig.string(forKey: "defaultSource", default: ingest.decoder.defaultSource)
        ingest.maxBatchEvents = ingestConfig.int(forKey: "maxBatchEvents", default: ingest.maxBatchEvents)
        ingest.maxBatchBytes = ingestConfig.int(forKey: "maxBatchBytes", default: ingest.maxBatchBytes)
        ingest.duplicateWindowSeconds = ingestConfig.double(
            forKey: "duplicateWindowSeconds", default: ingest.duplicateWindowSeconds)
        ingest.duplicateCapacity = ingestConfig.int(forKey: "duplicateCapacity", default: ingest.duplicateCapacity)
        ingest.apiKeys = Set(ingestConfig.stringArray(forKey: "apiKeys", isSecret: true, default: []))
        ingest.admission.globalRate = ingestConfig.double(forKey: "globalRate", default: 0)
        ingest.admission.globalBurst = ingestConfig.double(forKey: "globalBurst", default: 0)
        ingest.admission.clientRate = ingestConfig.double(forKey: "clientRate", default: 0)
        ingest.admission.clientBurst = ingestConfig.double(forKey: "clientBurst", default: 0)
        ingest.admission.maxClients = ingestConfig.int(forKey: "maxClients", default: ingest.admission.maxClients)
        ingest.admission.maxInflightEvents = ingestConfig.int(
            forKey: "maxInflightEvents", default: ingest.admission.maxInflightEvents)
        ingest.admission.maxInflightBytes = ingestConfig.int(
            forKey: "maxInflightBytes", default: ingest.admission.maxInflightBytes)
        for (key, value) in [
            ("ingest.maxEventBytes", ingest.decoder.maxEventBytes), ("ingest.maxBatchEvents", ingest.maxBatchEvents),
            ("ingest.maxBatchBytes", ingest.maxBatchBytes), ("ingest.maxInflightEvents", ingest.admission.maxInflightEvents),
            ("ingest.maxInflightBytes", ingest.admission.maxInflightBytes),
        ] where value <= 0 {
            throw InvalidSetting(key: key, reason: "must be positive")
        }
        if (try? NSRegularExpression(pattern: ingest.decoder.typePattern)) == nil {
            throw InvalidSetting(key: "ingest.typePattern", reason: "not a valid regular expression")
        }

        storageURL = config.string(
            forKey: "storage.url", isSecret: true,
            default: "sqlite:" + (dataDirectory as NSString).appendingPathComponent("meridian.sqlite"))
        guard storageURL.hasPrefix("sqlite:") || storageURL.hasPrefix("postgres://") || storageURL.hasPrefix("postgresql://")
        else {
            throw InvalidSetting(key: "storage.url", reason: "use sqlite:PATH or postgres://user:password@host:port/database")
        }
        storageSynchronous = config.string(forKey: "storage.synchronous", default: "FULL").uppercased()
        guard ["FULL", "NORMAL"].contains(storageSynchronous) else {
            throw InvalidSetting(key: "storage.synchronous", reason: "FULL or NORMAL")
        }
        jwtSecret = config.string(forKey: "auth.jwtSecret", isSecret: true, default: "")
        if !jwtSecret.isEmpty && jwtSecret.utf8.count < 32 {
            throw InvalidSetting(key: "auth.jwtSecret", reason: "must be at least 32 bytes")
        }
        tokenLifetime = .seconds(config.int(forKey: "auth.tokenLifetimeSeconds", default: 3600))
        users = UsersController.Configuration()
        let cost = config.int(forKey: "users.bcryptCost", default: 12)
        guard (4...31).contains(cost) else { throw InvalidSetting(key: "users.bcryptCost", reason: "must be 4...31") }
        users.bcryptCost = UInt8(cost)
        let gatewayConfig = config.scoped(to: "gateway")
        gateway = GatewayMiddleware.Configuration()
        gateway.userRate = gatewayConfig.double(forKey: "userRate", default: gateway.userRate)
        gateway.userBurst = gatewayConfig.double(forKey: "userBurst", default: gateway.userBurst)
        gateway.addressRate = gatewayConfig.double(forKey: "addressRate", default: gateway.addressRate)
        gateway.addressBurst = gatewayConfig.double(forKey: "addressBurst", default: gateway.addressBurst)
        for (key, value) in [
            ("gateway.userRate", gateway.userRate), ("gateway.userBurst", gateway.userBurst),
            ("gateway.addressRate", gateway.addressRate), ("gateway.addressBurst", gateway.addressBurst),
        ] where value < 0 || !value.isFinite {
            throw InvalidSetting(key: key, reason: "must be zero or more")
        }
        corsOrigin = gatewayConfig.string(forKey: "corsOrigin", default: "")
        orders = OrdersController.Configuration()
        let ttl = config.int(forKey: "orders.reservationTtlSeconds", default: 600)
        guard ttl > 0 else { throw InvalidSetting(key: "orders.reservationTtlSeconds", reason: "must be positive") }
        orders.reservationTTL = .seconds(ttl)
        let sweep = config.double(forKey: "orders.sweepIntervalSeconds", default: 5)
        guard sweep > 0 && sweep.isFinite else {
            throw InvalidSetting(key: "orders.sweepIntervalSeconds", reason: "must be positive")
        }
        ordersSweepInterval = .milliseconds(Int64(sweep * 1000))
        let grace = config.int(forKey: "products.reservationGraceSeconds", default: 300)
        guard grace >= 0 else { throw InvalidSetting(key: "products.reservationGraceSeconds", reason: "must be zero or more") }
        reservationGrace = .seconds(grace)
        payments = SimulatedPaymentProvider.Configuration()
        payments.failureRate = config.double(forKey: "payments.failureRate", default: 0)
        guard (0...1).contains(payments.failureRate) else {
            throw InvalidSetting(key: "payments.failureRate", reason: "must be within 0...1")
        }
        let latency = config.int(forKey: "payments.latencyMs", default: 0)
        guard latency >= 0 else { throw InvalidSetting(key: "payments.latencyMs", reason: "must be zero or more") }
        payments.latency = .milliseconds(latency)
        notifications = try NotificationSettings(reader: config.scoped(to: "notifications"))
        shutdownTimeout = .seconds(config.double(forKey: "shutdown.timeoutSeconds", default: 30))
        logLevel = config.string(forKey: "log.level", default: "info")
        logFormat = config.string(forKey: "log.format", default: "json")
        serviceURLs = [:]
        for role in Role.allCases where role != .gateway {
            let key = "services.\(role.rawValue)Url"
            guard let url = config.string(forKey: ConfigKey(key)), !url.isEmpty else { continue }
            guard url.hasPrefix("http://") || url.hasPrefix("https://") else {
                throw InvalidSetting(key: key, reason: "'\(url)' is not an http(s) URL")
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

    init(reader config: ConfigReader) throws {
        let channelName = config.string(forKey: "channel", default: "log")
        guard let channel = Channel(rawValue: channelName) else {
            throw MeridianSettings.InvalidSetting(
                key: "notifications.channel", reason: "'\(channelName)' is not one of log, webhook, smtp")
        }
        self.channel = channel
        webhookURL = config.string(forKey: "webhookUrl", isSecret: true, default: "")
        if channel == .webhook && !(webhookURL.hasPrefix("http://") || webhookURL.hasPrefix("https://")) {
            throw MeridianSettings.InvalidSetting(
                key: "notifications.webhookUrl", reason: "the webhook channel needs an http(s) URL")
        }
        smtpHost = config.string(forKey: "smtpHost", default: "127.0.0.1")
        smtpPort = config.int(forKey: "smtpPort", default: 25)
        guard (1...65535).contains(smtpPort) else {
            throw MeridianSettings.InvalidSetting(key: "notifications.smtpPort", reason: "\(smtpPort) is not a port")
        }
        smtpFrom = config.string(forKey: "smtpFrom", default: "shop@meridian.localhost")
        templatesDirectory = config.string(forKey: "templatesDir")
        notifier = Notifier.Configuration()
        notifier.attempts = config.int(forKey: "attempts", default: notifier.attempts)
        guard (1...100).contains(notifier.attempts) else {
            throw MeridianSettings.InvalidSetting(key: "notifications.attempts", reason: "must be 1...100")
        }
        let backoff = config.int(forKey: "backoffMs", default: 200)
        guard backoff >= 0 else {
            throw MeridianSettings.InvalidSetting(key: "notifications.backoffMs", reason: "must be zero or more")
        }
        notifier.firstBackoff = .milliseconds(backoff)
    }
}

extension MeridianSettings {
    /// The layered configuration: explicit values (command line) first, then `MERIDIAN_*`
    /// environment variables, then the optional JSON config file, then the defaults in code.
    public static func reader(
        overrides: [String: ConfigValue] = [:],
        environment: [String: String] = ProcessInfo.processInfo.environment,
        configFile: String? = nil,
        accessReporter: (any AccessReporter)? = nil
    ) async throws -> ConfigReader {
        var providers: [any ConfigProvider] = []
        if !overrides.isEmpty {
            var values: [AbsoluteConfigKey: ConfigValue] = [:]
            for (key, value) in overrides { values[AbsoluteConfigKey(ConfigKey(key))] = value }
            providers.append(InMemoryProvider(name: "command line", values: values))
        }
        providers.append(
            EnvironmentVariablesProvider(
                environmentVariables: environment,
                secretsSpecifier: .dynamic { key, _ in
                    key.contains("API_KEYS") || key.contains("PASSWORD") || key.contains("SECRET")
                }
            ).prefixKeys(with: "meridian"))
        let file = configFile ?? environment["MERIDIAN_CONFIG_FILE"]
        if let file {
            let location = ConfigReader(
                provider: InMemoryProvider(values: ["filePath": ConfigValue(.string(file), isSecret: false)]))
            providers.append(try await FileProvider<JSONSnapshot>(config: location))
        }
        return ConfigReader(providers: providers, accessReporter: accessReporter)
    }
}
