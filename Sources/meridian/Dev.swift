import ArgumentParser
import Foundation
import Logging
import MeridianCore
import MeridianKafka
import ServiceLifecycle
import UnixSignals

struct Dev: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Development helpers.", subcommands: [DevKafka.self])
}

struct DevKafka: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "kafka",
        abstract: "Run a librdkafka mock Kafka cluster on 127.0.0.1 with the contract topics, until stopped.")

    @Option(help: "Number of brokers.")
    var brokers: Int = 3

    @Option(help: "Partitions of each contract topic.")
    var partitions: Int32 = 6

    @Option(help: "A prefix put in front of every topic name.")
    var topicPrefix: String = ""

    @Option(help: "Also write the bootstrap servers to this file (for scripts).")
    var bootstrapFile: String?

    func validate() throws {
        guard (1...16).contains(brokers) else { throw ValidationError("--brokers must be between 1 and 16") }
        guard (1...256).contains(partitions) else { throw ValidationError("--partitions must be between 1 and 256") }
    }

    func run() async throws {
        let cluster = try KafkaMockCluster(brokers: brokers)
        let topics = Topics(prefix: topicPrefix)
        for topic in topics.all {
            try cluster.createTopic(topic, partitions: partitions, replicationFactor: Int32(min(brokers, 3)))
        }
        let servers = cluster.bootstrapServers
        if let bootstrapFile {
            try Data((servers + "\n").utf8).write(to: URL(fileURLWithPath: bootstrapFile))
        }
        print("Kafka mock cluster: \(brokers) broker(s), topics: \(topics.all.joined(separator: ", "))")
        print("bootstrap servers: \(servers)")
        // The way this binary was called also works for the next command (`.build/debug/meridian` from the README).
        let binary = CommandLine.arguments.first ?? "meridian"
        print("try: MERIDIAN_EVENT_LOG=kafka MERIDIAN_KAFKA_BROKERS=\(servers) \(binary) serve")
        print("stop with Ctrl-C")
        fflush(nil)
        try await ServiceGroup(
            services: [HoldUntilShutdown()], gracefulShutdownSignals: [.sigterm, .sigint],
            logger: .init(label: "meridian.dev.kafka")
        ).run()
        _ = cluster
    }
}

/// A service that does nothing until graceful shutdown.
struct HoldUntilShutdown: Service {
    func run() async throws {
        try? await gracefulShutdown()
    }
}
