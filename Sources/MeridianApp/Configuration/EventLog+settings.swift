import Foundation
import MeridianEventLog
import MeridianKafka

extension EmbeddedEventLog.Configuration {
    /// The embedded log's keys under `embedded.`: `path` (default `<dataDir>/eventlog.sqlite`), `synchronous`
    /// (`FULL`), `maxGroupCommit` (4096).
    init(reader config: SettingsReader, dataDirectory: String, partitions: Int32) throws {
        self.init(
            path: try config.string("path", default: (dataDirectory as NSString).appendingPathComponent("eventlog.sqlite")))
        defaultPartitions = partitions
        synchronous = try config.choice("synchronous", default: "FULL", ["FULL", "NORMAL", "EXTRA"])
        maxGroupCommit = try config.int("maxGroupCommit", default: 4096, in: 1...1_000_000)
    }
}

extension KafkaConfiguration {
    /// The Kafka adapter's keys under `kafka.` (docs/configuration.md lists them with their defaults), plus
    /// `MERIDIAN_KAFKA_PROPERTY_<NAME>` variables as librdkafka properties.
    init(reader config: SettingsReader, partitions: Int32, environment: [String: String]) throws {
        self.init()
        brokers = try config.string("brokers", default: brokers)
        guard !brokers.isEmpty else { throw config.invalid("brokers", "name at least one HOST:PORT") }
        clientID = try config.string("clientId", default: clientID)
        lingerMilliseconds = try config.int("lingerMs", default: lingerMilliseconds, in: 0...60_000)
        batchBytes = try config.int("batchBytes", default: batchBytes, in: 1...2_147_483_647)
        compression = try config.choice("compression", default: compression, ["none", "gzip", "snappy", "lz4", "zstd"])
        messageTimeoutMilliseconds = try config.int(
            "messageTimeoutMs", default: messageTimeoutMilliseconds, in: 1...2_147_483_647)
        queueMaxMessages = try config.int("queueMaxMessages", default: queueMaxMessages, in: 1...10_000_000)
        queueMaxKilobytes = try config.int("queueMaxKbytes", default: queueMaxKilobytes, in: 1...2_147_483_647)
        statisticsIntervalMilliseconds = try config.int(
            "statisticsIntervalMs", default: statisticsIntervalMilliseconds, in: 0...86_400_000)
        replicationFactor = try config.int("replicationFactor", default: replicationFactor, in: -1...32)
        guard replicationFactor != 0 else { throw config.invalid("replicationFactor", "must be -1 or 1...32") }
        fetchWaitMilliseconds = try config.int("fetchWaitMs", default: fetchWaitMilliseconds, in: 0...60_000)
        self.partitions = partitions
        for entry in try config.stringArray("properties", default: []) {
            guard let equals = entry.firstIndex(of: "="), equals != entry.startIndex else {
                throw config.invalid("properties", "'\(entry)' is not name=value")
            }
            properties[String(entry[..<equals])] = String(entry[entry.index(after: equals)...])
        }
        properties.merge(Self.propertiesFromEnvironment(environment)) { _, environment in environment }
    }

    /// `MERIDIAN_KAFKA_PROPERTY_<NAME>` variables: `<NAME>` lower-cased with `_` read as `.`
    /// (`MERIDIAN_KAFKA_PROPERTY_SASL_MECHANISM` → `sasl.mechanism`).
    static func propertiesFromEnvironment(_ environment: [String: String]) -> [String: String] {
        let prefix = "MERIDIAN_KAFKA_PROPERTY_"
        var properties: [String: String] = [:]
        for (name, value) in environment where name.hasPrefix(prefix) && name.count > prefix.count {
            properties[name.dropFirst(prefix.count).lowercased().replacingOccurrences(of: "_", with: ".")] = value
        }
        return properties
    }
}
