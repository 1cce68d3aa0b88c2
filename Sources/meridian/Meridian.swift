import ArgumentParser
import Configuration
import Foundation
import Logging
import MeridianApp
import Metrics
import Prometheus

@main
struct Meridian: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "meridian",
        abstract: "Meridian: an event-driven commerce platform in one binary.",
        subcommands: [Serve.self, Migrate.self, Users.self, Dev.self, Log.self, Bench.self]
    )
}

/// Options naming the configuration layers and the event log, shared by every command.
struct CommonOptions: ParsableArguments {
    @Option(help: "A JSON configuration file (also MERIDIAN_CONFIG_FILE).")
    var config: String?

    @Option(help: "Data directory for the embedded event log (default ./.meridian).")
    var dataDir: String?

    @Option(help: "Event log adapter: embedded or kafka (default embedded).")
    var eventLog: String?

    @Option(help: "Kafka bootstrap servers HOST:PORT,... (with --event-log kafka).")
    var kafkaBrokers: String?

    @Option(help: "A prefix put in front of every topic name.")
    var topicPrefix: String?

    @Option(help: "Log level: trace, debug, info, notice, warning, error, critical.")
    var logLevel: String?

    /// Values given on the command line, the first configuration layer.
    var overrides: [String: ConfigValue] {
        var values: [String: ConfigValue] = [:]
        if let dataDir { values["dataDir"] = .init(.string(dataDir), isSecret: false) }
        if let eventLog { values["eventLog"] = .init(.string(eventLog), isSecret: false) }
        if let kafkaBrokers { values["kafka.brokers"] = .init(.string(kafkaBrokers), isSecret: false) }
        if let topicPrefix { values["topics.prefix"] = .init(.string(topicPrefix), isSecret: false) }
        if let logLevel { values["log.level"] = .init(.string(logLevel), isSecret: false) }
        return values
    }

    /// Reads the settings, turning a bad value into a usage error.
    func settings(extra: [String: ConfigValue] = [:]) async throws -> MeridianSettings {
        do {
            let reader = try await MeridianSettings.reader(
                overrides: overrides.merging(extra) { _, new in new }, configFile: config)
            return try MeridianSettings(reader: reader)
        } catch let error as MeridianSettings.InvalidSetting {
            throw ValidationError(error.description)
        } catch {
            throw ValidationError("cannot read the configuration: \(error)")
        }
    }
}

/// Process-wide logging and metrics; each may be bootstrapped once.
enum ProcessWide {
    static let registry = PrometheusCollectorRegistry()

    static func bootstrap(_ settings: MeridianSettings) {
        bootstrapLogging(format: settings.logFormat, level: settings.logLevel)
        MetricsSystem.bootstrap(makeMetricsFactory(registry: registry))
    }
}

struct Serve: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Run Meridian's roles (all of them by default) until SIGTERM or SIGINT.")

    @OptionGroup var common: CommonOptions

    @Option(
        name: .customLong("role"),
        help:
            "A role to run (repeatable): \(MeridianSettings.Role.allCases.map(\.rawValue).joined(separator: ", ")). Default: all."
    )
    var roles: [String] = []

    @Option(help: "Address to listen on (default 127.0.0.1).")
    var host: String?

    @Option(help: "Port to listen on (default 8080).")
    var port: Int?

    @Option(help: "Seconds a graceful shutdown may take (default 30).")
    var shutdownTimeout: Double?

    func run() async throws {
        var extra: [String: ConfigValue] = [:]
        if !roles.isEmpty { extra["roles"] = .init(.stringArray(roles), isSecret: false) }
        if let host { extra["http.host"] = .init(.string(host), isSecret: false) }
        if let port { extra["http.port"] = .init(.int(port), isSecret: false) }
        if let shutdownTimeout { extra["shutdown.timeoutSeconds"] = .init(.double(shutdownTimeout), isSecret: false) }
        let settings = try await common.settings(extra: extra)
        ProcessWide.bootstrap(settings)
        let logger = Logger(label: "meridian")
        let application = try await buildApplication(
            settings: settings,
            logger: logger,
            registry: ProcessWide.registry,
            metrics: MetricsSystem.factory,
            onServerRunning: { port in
                logger.info(
                    "meridian is serving",
                    metadata: [
                        "port": .stringConvertible(port), "roles": .string(settings.roles.map(\.rawValue).joined(separator: ",")),
                        "event_log": .string(settings.eventLog.rawValue),
                    ])
            })
        try await application.run(logger: logger)
        logger.info("meridian stopped")
    }
}
