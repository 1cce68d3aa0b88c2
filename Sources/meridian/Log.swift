import ArgumentParser
import Foundation
import Logging
import MeridianApp
import MeridianCore
import MeridianEventLog
import MeridianKafka
import Metrics
import ServiceLifecycle

struct Log: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Inspect the event log (embedded or Kafka).", subcommands: [LogTopics.self, LogRead.self])
}

/// Opens the event log the options and configuration name, quietly (logs go to stderr at warning).
///
/// The embedded log opens read-only when `readOnly` (it works beside a running server and never creates a
/// data dir); otherwise it takes the writer's lock, so it refuses to start beside a running server.
func openEventLog(_ common: CommonOptions, readOnly: Bool) async throws -> (MeridianSettings, EventLogService) {
    var settings = try await common.settings()
    if common.logLevel == nil { settings.logLevel = "warning" }
    bootstrapLogging(format: "text", level: settings.logLevel)
    let logger = Logger(label: "meridian.log")
    do {
        if readOnly, settings.eventLog == .embedded {
            return (settings, try await EmbeddedEventLog.openReadOnly(configuration: settings.embedded, logger: logger))
        }
        return (settings, try await buildEventLog(settings: settings, logger: logger, metrics: NOOPMetricsHandler.instance))
    } catch {
        throw CommandFailure(eventLogError: error, settings: settings)
    }
}

extension CommandFailure {
    /// A failure to open or use the event log, naming the setting that points at it.
    init(eventLogError error: any Error, settings: MeridianSettings) {
        let code = (error as? EventLogError)?.code
        let message = (error as? EventLogError)?.message ?? "\(error)"
        switch settings.eventLog {
        case .embedded:
            let status: Int32
            switch code {
            case .notFound?, .unknownTopic?: status = ExitStatus.noInput
            case .locked?: status = ExitStatus.unavailable
            default: status = ExitStatus.cannotCreate
            }
            self.init(
                "\(message) (embedded event log \(settings.embedded.path); --data-dir or MERIDIAN_DATA_DIR)", status: status)
        case .kafka:
            self.init(
                "\(message) (Kafka brokers \(settings.kafka.brokers); --kafka-brokers or MERIDIAN_KAFKA_BROKERS)",
                status: code == .unknownTopic ? ExitStatus.noInput : ExitStatus.unavailable)
        }
    }
}

/// Closes an event log that was opened outside a service group.
func close(_ log: EventLogService) async {
    if let closable = log as? any ClosableEventLog { await closable.close() }
}

/// Runs `body` with the log running (its writer or delivery thread started), then closes it exactly once
/// (also when `body` throws).
func withEventLog<Result>(
    _ common: CommonOptions, readOnly: Bool, _ body: (MeridianSettings, EventLogService) async throws -> Result
) async throws -> Result {
    let (settings, log) = try await openEventLog(common, readOnly: readOnly)
    let running = Task { try await log.run() }
    let result: Swift.Result<Result, any Error>
    do {
        result = .success(try await body(settings, log))
    } catch {
        result = .failure(error)
    }
    await close(log)
    running.cancel()
    _ = await running.result
    return try result.get()
}

struct LogTopics: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "topics", abstract: "List topics with partitions and offsets (works beside a running server).")

    @OptionGroup var common: CommonOptions

    @Flag(help: "Print JSON, one object per topic.")
    var json = false

    func run() async throws {
        try await withEventLog(common, readOnly: true) { settings, log in
            let topics: [TopicDescription]
            do {
                topics = try await log.describeTopics()
            } catch {
                throw CommandFailure(eventLogError: error, settings: settings)
            }
            for topic in topics {
                if json {
                    let object: [String: Any] = [
                        "topic": topic.name, "records": topic.recordCount,
                        "partitions": topic.partitions.map {
                            ["partition": $0.id, "start": $0.startOffset, "end": $0.endOffset]
                        },
                    ]
                    print(
                        String(
                            decoding: try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys]), as: UTF8.self))
                } else {
                    print("\(topic.name)\tpartitions=\(topic.partitions.count)\trecords=\(topic.recordCount)")
                }
            }
        }
    }
}

struct LogRead: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "read",
        abstract: "Print records of a topic, one JSON object per record.",
        discussion: """
            Without --group the topic is read from the beginning, nothing is committed, and an embedded log is \
            opened read-only (this works beside a running server). With --group the group's offsets are resumed \
            and committed: on the embedded log that needs the writer's lock, so stop the server first.
            The command stops at the end of the topic as it was when it started, or after --idle-timeout \
            seconds without a record (a group may already be at the end); --follow keeps waiting for new records \
            until Ctrl-C.
            """)

    @OptionGroup var common: CommonOptions

    @Option(help: "The topic to read.")
    var topic: String

    @Option(help: "Read as this consumer group, resuming from and committing its offsets.")
    var group: String?

    @Flag(help: "Read from the earliest offset (ignoring any committed offsets).")
    var fromBeginning = false

    @Option(help: "Stop after this many records.")
    var limit: Int?

    @Option(help: "Stop after this many seconds without a new record (default 2).")
    var idleTimeout: Double = 2

    @Flag(help: "Keep waiting for new records until interrupted.")
    var follow = false

    func validate() throws {
        if group != nil && fromBeginning { throw ValidationError("use either --group or --from-beginning, not both") }
        if let limit, limit <= 0 { throw ValidationError("--limit must be positive") }
        if !(idleTimeout > 0 && idleTimeout <= 86_400) { throw ValidationError("--idle-timeout must be 0...86400 seconds") }
        if topic.isEmpty { throw ValidationError("--topic must not be empty") }
    }

    func run() async throws {
        try await withEventLog(common, readOnly: group == nil) { settings, log in
            let described: [TopicDescription]
            do {
                described = try await log.describeTopics()
            } catch {
                throw CommandFailure(eventLogError: error, settings: settings)
            }
            guard let description = described.first(where: { $0.name == topic }) else {
                throw CommandFailure(
                    eventLogError: EventLogError(
                        .unknownTopic,
                        "no topic \(topic); topics: \(described.map(\.name).joined(separator: ", "))"),
                    settings: settings)
            }
            // Where the topic ended when the command started: reading stops there unless --follow.
            var remaining: [Int32: Int64] = [:]
            for partition in description.partitions where partition.endOffset > partition.startOffset {
                remaining[partition.id] = partition.endOffset
            }
            let consumer = try await log.makeConsumer(
                ConsumerOptions(group: group, topics: [topic], fromBeginning: fromBeginning || group == nil))
            do {
                try await read(consumer, until: remaining)
            } catch {
                await consumer.close()
                throw error
            }
            await consumer.close()
        }
    }

    /// Prints records until the end offsets in `remaining` are reached (unless --follow), the limit, or the idle timeout.
    private func read(_ consumer: any EventLogConsumer, until ends: [Int32: Int64]) async throws {
        var remaining = ends
        var printed = 0
        var idleSince = ContinuousClock.now
        while limit.map({ printed < $0 }) ?? true {
            if !follow && remaining.isEmpty && group == nil { break }
            let want = min(500, (limit ?? Int.max) - printed)
            let records = try await consumer.poll(maxRecords: want, timeout: .milliseconds(250))
            if records.isEmpty {
                if !follow && idleSince.duration(to: .now) > .milliseconds(Int64(idleTimeout * 1000)) { break }
                continue
            }
            idleSince = .now
            for record in records {
                print(render(record))
                if let end = remaining[record.partition], record.offset + 1 >= end { remaining[record.partition] = nil }
            }
            fflush(nil)
            try await consumer.commit(records)
            printed += records.count
            if !follow && remaining.isEmpty { break }
        }
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
