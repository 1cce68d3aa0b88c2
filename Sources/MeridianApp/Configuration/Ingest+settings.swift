import Foundation
import MeridianCore
import MeridianIngest

extension Ingestor.Configuration {
    /// The ingest pipeline's keys under `ingest.` (docs/configuration.md lists them with their defaults).
    init(reader config: SettingsReader) throws {
        self.init()
        ack = AckMode(rawValue: try config.choice("ack", default: "durable", ["durable", "enqueued"]))!
        decoder.maxEventBytes = try config.int(
            "maxEventBytes", default: decoder.maxEventBytes, in: 256...(64 * 1_048_576))
        decoder.maxIDLength = try config.int("maxIdLength", default: decoder.maxIDLength, in: 1...4096)
        decoder.typePattern = try config.string("typePattern", default: decoder.typePattern)
        if (try? NSRegularExpression(pattern: decoder.typePattern)) == nil {
            throw config.invalid("typePattern", "not a valid regular expression")
        }
        decoder.allowedTypes = Set(try config.stringArray("allowedTypes", default: []))
        decoder.defaultSource = try config.string("defaultSource", default: decoder.defaultSource)
        maxBatchEvents = try config.int("maxBatchEvents", default: maxBatchEvents, in: 1...1_000_000)
        maxBatchBytes = try config.int("maxBatchBytes", default: maxBatchBytes, in: 256...(1 << 30))
        duplicateWindowSeconds = try config.double(
            "duplicateWindowSeconds", default: duplicateWindowSeconds, in: 0...(7 * 86_400))
        duplicateCapacity = try config.int("duplicateCapacity", default: duplicateCapacity, in: 0...100_000_000)
        apiKeys = Set(try config.stringArray("apiKeys", default: [], isSecret: true))
        admission.globalRate = try config.double("globalRate", default: 0, in: 0...100_000_000)
        admission.globalBurst = try config.double("globalBurst", default: 0, in: 0...100_000_000)
        admission.clientRate = try config.double("clientRate", default: 0, in: 0...100_000_000)
        admission.clientBurst = try config.double("clientBurst", default: 0, in: 0...100_000_000)
        admission.maxClients = try config.int("maxClients", default: admission.maxClients, in: 1...10_000_000)
        admission.maxInflightEvents = try config.int(
            "maxInflightEvents", default: admission.maxInflightEvents, in: 1...100_000_000)
        admission.maxInflightBytes = try config.int(
            "maxInflightBytes", default: admission.maxInflightBytes, in: 1...(1 << 40))
    }
}
