import ArgumentParser
import Configuration
import Foundation
import Logging
import MeridianApp
import MeridianEventLog
import MeridianKafka
import Metrics
import Prometheus

@main
struct Meridian: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "meridian",
        abstract: "Meridian: an event-driven commerce platform in one binary.",
        version: MeridianVersion.current,
        subcommands: [
            Serve.self, Migrate.self, Users.self, Ingest.self, Function.self, Analytics.self, Dev.self, Log.self, Bench.self,
            Probe.self,
        ]
    )

    /// Parses the command line and runs the command. A mistake in the command line prints the usage of the
    /// command it concerns (not the top level's); a mistake in the settings or a failure at start-up prints
    /// one line naming the cause and exits with a code from ``ExitStatus``.
    static func main() async {
        let command: any ParsableCommand
        do {
            command = try parseAsRoot()
        } catch {
            exit(withError: error)
        }
        do {
            if var asyncCommand = command as? any AsyncParsableCommand {
                try await asyncCommand.run()
            } else {
                var command = command
                try command.run()
            }
        } catch let failure as CommandFailure {
            failure.report()
        } catch let setting as InvalidSetting {
            CommandFailure(setting).report()
        } catch {
            type(of: command).exit(withError: error)
        }
    }
}

/// Exit codes of `meridian` (from BSD's sysexits.h, as daemons use them).
enum ExitStatus {
    /// A general failure.
    static let failure: Int32 = 1
    /// A mistake in the command line or the settings (EX_USAGE).
    static let usage: Int32 = 64
    /// Input that does not exist or cannot be read: an unknown topic, a missing data dir (EX_NOINPUT).
    static let noInput: Int32 = 66
    /// A service this process needs cannot be reached: a broker, a database, a busy port (EX_UNAVAILABLE).
    static let unavailable: Int32 = 69
    /// A file or directory cannot be created or written (EX_CANTCREAT).
    static let cannotCreate: Int32 = 73
}

/// A failure that ends a command with one line on standard error and an exit code.
struct CommandFailure: Error, CustomStringConvertible {
    var description: String
    var status: Int32

    init(_ description: String, status: Int32 = ExitStatus.failure) {
        self.description = description
        self.status = status
    }

    init(_ setting: InvalidSetting) {
        self.init(setting.description, status: ExitStatus.usage)
    }

    /// A failure to start (``describeStartupFailure(_:settings:)``) as one line and its exit status: 64 for a
    /// setting, 69 for something unreachable or busy, 73 for what cannot be created.
    init(startup error: any Error, settings: MeridianSettings) {
        let failure = describeStartupFailure(error, settings: settings)
        switch failure.kind {
        case .configuration: self.init(failure.description, status: ExitStatus.usage)
        case .unavailable: self.init(failure.description, status: ExitStatus.unavailable)
        case .cannotCreate: self.init(failure.description, status: ExitStatus.cannotCreate)
        }
    }

    /// Prints `meridian: error: <description>` and exits.
    func report() -> Never {
        FileHandle.standardError.write(Data("meridian: error: \(description)\n".utf8))
        Foundation.exit(status)
    }
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

    /// Reads and validates the settings; a bad value is a ``CommandFailure`` with exit code 64 naming the key,
    /// its source and what is accepted.
    /// - Parameter printWarnings: print warnings about unknown keys to standard error (commands other than
    ///   `serve`, which logs them).
    func settings(extra: [String: ConfigValue] = [:], printWarnings: Bool = true) async throws -> MeridianSettings {
        do {
            let reader = try await MeridianSettings.reader(
                overrides: overrides.merging(extra) { _, new in new }, configFile: config)
            let settings = try MeridianSettings(reader: reader)
            if printWarnings {
                for warning in settings.warnings {
                    FileHandle.standardError.write(Data("meridian: warning: \(warning)\n".utf8))
                }
            }
            return settings
        } catch let error as InvalidSetting {
            throw CommandFailure(error)
        } catch {
            throw CommandFailure("cannot read the configuration: \(error)", status: ExitStatus.usage)
        }
    }
}

/// What the start-up line says: where the server listens, which roles run, and where events and state go.
func startupMetadata(_ settings: MeridianSettings, port: Int) -> Logger.Metadata {
    var metadata: Logger.Metadata = [
        "host": .string(settings.host), "port": .stringConvertible(port),
        "roles": .string(settings.roles.map(\.rawValue).joined(separator: ",")),
        "event_log": .string(settings.eventLog.rawValue),
        "storage": .string(redacted(settings.storageURL)),
    ]
    switch settings.eventLog {
    case .embedded: metadata["event_log_path"] = .string(settings.embedded.path)
    case .kafka: metadata["kafka_brokers"] = .string(settings.kafka.brokers)
    }
    if settings.roles.contains(.images) { metadata["objects"] = .string(settings.objects.location) }
    return metadata
}

/// Process-wide logging and metrics; each may be bootstrapped once.
enum ProcessWide {
    static let registry = PrometheusCollectorRegistry()

    static func bootstrap(_ settings: MeridianSettings) {
        bootstrapLogging(format: settings.logFormat, level: settings.logLevel, metadataProvider: tracingLogMetadata(settings))
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
        let settings = try await common.settings(extra: extra, printWarnings: false)
        ProcessWide.bootstrap(settings)
        let logger = Logger(label: "meridian")
        for warning in settings.warnings { logger.warning("\(warning)") }
        do {
            try await checkStartup(settings, logger: logger)
            // Before the application's HTTP clients are made: each takes the tracer it finds then.
            let tracing = try bootstrapTracing(settings, version: MeridianVersion.current, logger: logger)
            var application = try await buildApplication(
                settings: settings,
                logger: logger,
                registry: ProcessWide.registry,
                metrics: MetricsSystem.factory,
                onServerRunning: { port in
                    logger.info("meridian is serving", metadata: startupMetadata(settings, port: port))
                })
            application.tracing = tracing
            try await application.run(logger: logger)
        } catch {
            throw CommandFailure(startup: error, settings: settings)
        }
        logger.info("meridian stopped")
    }
}

/// The version `meridian --version` prints.
enum MeridianVersion {
    static let current = "0.3.0"
}
