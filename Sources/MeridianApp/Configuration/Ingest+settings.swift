import Foundation
import MeridianCore
import MeridianIngest
import MeridianIngestJobs

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

/// The settings of bulk CSV ingestion (`ingest.job*`, `ingest.maxErrorRate`, `ingest.maxRecordBytes`).
public struct IngestJobsSettings: Sendable {
    /// Jobs a process runs at once.
    public var concurrency: Int
    /// Rows per durable batch, unless a job says otherwise.
    public var batchSize: Int
    /// The share of rejected rows past which a job fails, unless a job says otherwise.
    public var maxErrorRate: Double
    /// How long a runner's claim on a job lasts without a checkpoint or a heartbeat.
    public var lease: Duration
    /// The longest CSV record.
    public var maxRecordBytes: Int

    init(reader config: SettingsReader) throws {
        concurrency = try config.int("jobConcurrency", default: 2, in: 1...64)
        batchSize = try config.int(
            "jobBatchSize", default: IngestJobOptions.defaultBatchSize, in: IngestJobOptions.batchSizes)
        maxErrorRate = try config.double("maxErrorRate", default: IngestJobOptions.defaultMaxErrorRate, in: 0...1)
        lease = .seconds(try config.int("jobLeaseSeconds", default: 60, in: 5...3600))
        maxRecordBytes = try config.int("maxRecordBytes", default: 1_048_576, in: 1_024...(64 * 1_048_576))
    }

    /// The runner's configuration for these settings.
    func runner(topics: Topics) -> CSVIngestRunner.Configuration {
        var configuration = CSVIngestRunner.Configuration()
        configuration.leaseDuration = lease
        configuration.maxRecordBytes = maxRecordBytes
        configuration.topics = topics
        return configuration
    }

    /// Options of a job of `type`, with these defaults.
    public func options(type: String) -> IngestJobOptions {
        var options = IngestJobOptions(type: type)
        options.batchSize = batchSize
        options.maxErrorRate = maxErrorRate
        return options
    }
}
