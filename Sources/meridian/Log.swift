import ArgumentParser
import Foundation
import Logging
import MeridianApp
import MeridianCore
import Metrics

struct Log: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Inspect the event log (embedded or Kafka).", subcommands: [LogTopics.self, LogRead.self])
}

/// Opens the event log the options and configuration name, quietly (logs go to stderr at warning).
func openEventLog(_ common: CommonOptions) async throws -> (MeridianSettings, EventLogService) {
    var settings = try await common.settings()
    if common.logLevel == nil { settings.logLevel = "warning" }
    bootstrapLogging(format: "text", level: settings.logLevel)
    let log = try await buildEventLog(
        settings: settings, logger: Logger(label: "meridian.log"), metrics: NOOPMetricsHandler.instance)
    return (settings, log)
}

/// Closes an event log that was opened outside a service group.
func close(_ log: EventLogService) async {
    if let closable = log as? any ClosableEventLog { await closable.close() }
}

struct LogTopics: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "topics", abstract: "List topics with partitions and offsets.")

    @OptionGroup var common: CommonOptions

    @Flag(help: "Print JSON, one object per topic.")
    var json = false

    func run() async throws {
        let (_, log) = try await openEventLog(common)
        defer { Task { await close(log) } }
        let topics: [TopicDescription]
        do {
            topics = try await log.describeTopics()
        } catch {
            await close(log)
            throw CleanExit.message("error: cannot list topics: \(error)")
        }
        for topic in topics {
            if json {
                let object: [String: Any] = [
                    "topic": topic.name, "records": topic.recordCount,
                    "partitions": topic.partitions.map { ["partition": $0.id, "start": $0.startOffset, "end": $0.endOffset] },
                ]
                print(String(decoding: try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys]), as: UTF8.self))
            } else {
                print("\(topic.name)\tpartitions=\(topic.partitions.count)\trecords=\(topic.recordCount)")
            }
        }
        await close(log)
    }
}

struct LogRead: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "read",
        abstract: "Print records of a topic, one JSON object per record.",
        discussion: "Without --group the topic is read from the beginning and nothing is committed.")

    @OptionGroup var common: CommonOptions

    @Option(help: "The topic to read.")
    var topic: String

    @Option(help: "Read as this consumer group, resuming from and committing its offsets.")
    var group: String?

    @Flag(help: "Read from the earliest offset (ignoring any committed offsets).")
    var fromBeginning = false

    @Option(help: "Stop after this many records.")
    var limit: Int?

    @Option(help: "Stop after this many seconds without a new record.")
    var idleTimeout: Double = 5

    func validate() throws {
        if group != nil && fromBeginning { throw ValidationError("use either --group or --from-beginning, not both") }
        if let limit, limit <= 0 { throw ValidationError("--limit must be positive") }
        if idleTimeout <= 0 { throw ValidationError("--idle-timeout must be positive") }
    }

    func run() async throws {
        let (_, log) = try await openEventLog(common)
        let consumer = try await log.makeConsumer(
            ConsumerOptions(group: group, topics: [topic], fromBeginning: fromBeginning || group == nil))
        var printed = 0
        var idleSince = ContinuousClock.now
        while limit.map({ printed < $0 }) ?? true {
            let want = min(500, (limit ?? Int.max) - printed)
            let records = try await consumer.poll(maxRecords: want, timeout: .milliseconds(250))
            if records.isEmpty {
                if idleSince.duration(to: .now) > .seconds(idleTimeout) { break }
                continue
            }
            idleSince = .now
            for record in records { print(render(record)) }
            fflush(nil)
            try await consumer.commit(records)
            printed += records.count
        }
        await consumer.close()
        await close(log)
    }

    private func render(_ record: ConsumedRecord) -> String {
        var headers: [String: String] = [:]
        for header in record.headers { headers[header.name] = header.stringValue }
        var object: [String: Any] = [
            "topic": record.topic, "partition": record.partition, "offset": record.offset, "headers": headers,
            "timestamp": Timestamp.format(record.timestamp),
        ]
        object["key"] = record.key.map { String(decoding: $0, as: UTF8.self) } ?? NSNull()
        if let value = try? JSONSerialization.jsonObject(with: Data(record.value), options: [.fragmentsAllowed]) {
            object["value"] = value
        } else if let text = String(validating: record.value, as: UTF8.self) {
            object["value"] = text
        } else {
            object["value_base64"] = Data(record.value).base64EncodedString()
        }
        let data =
            (try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys, .withoutEscapingSlashes])) ?? Data()
        return String(decoding: data, as: UTF8.self)
    }
}
