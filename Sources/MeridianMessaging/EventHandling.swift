import Foundation
import Logging
import MeridianCore

/// How a consumer of domain events treats each record, the same way for every role:
/// a record that is not a CloudEvent, or whose data cannot be read, goes to `events-dlq` at once
/// (class `validation`); a record whose handling fails is retried with backoff and, after the last
/// attempt, goes to `events-dlq` (class `processing`). Either way the consumer moves on: it never
/// blocks its partition forever and never drops a record silently.
///
/// The handler itself makes its effects idempotent (the inbox), so a redelivered record changes nothing.
public struct EventHandling: Sendable {
    public struct Configuration: Sendable {
        /// Attempts per record before it is dead-lettered. Default 5.
        public var attempts = 5
        /// Pause after the first failed attempt; doubled after each. Default 100 ms.
        public var firstBackoff: Duration = .milliseconds(100)
        /// Records of different keys handled at the same time; records of one key (one order, one
        /// product) always one after the other, in order. Default 16.
        public var concurrency = 16

        public init() {}
    }

    let eventLog: any EventLog
    let topics: Topics
    let consumer: String
    let configuration: Configuration
    let logger: Logger

    public init(
        eventLog: any EventLog, topics: Topics, consumer: String, configuration: Configuration = .init(), logger: Logger
    ) {
        self.eventLog = eventLog
        self.topics = topics
        self.consumer = consumer
        self.configuration = configuration
        self.logger = logger
    }

    /// Hands each record's event to `handle`: records of one key in order, records of different keys up to
    /// ``Configuration/concurrency`` at a time. Returns when every record was handled or dead-lettered; throws
    /// only when a dead-letter record could not be written (then the batch comes again).
    public func dispatch(_ records: [ConsumedRecord], _ handle: @escaping @Sendable (CloudEvent) async throws -> Void)
        async throws
    {
        guard configuration.concurrency > 1, records.count > 1 else {
            for record in records { try await handleOne(record, handle) }
            return
        }
        var groups: [[ConsumedRecord]] = []
        var groupOfKey: [[UInt8]: Int] = [:]
        for record in records {
            if let key = record.key, let index = groupOfKey[key] {
                groups[index].append(record)
            } else {
                if let key = record.key { groupOfKey[key] = groups.count }
                groups.append([record])
            }
        }
        try await withThrowingTaskGroup(of: Void.self) { tasks in
            var running = 0
            for group in groups {
                if running >= configuration.concurrency {
                    try await tasks.next()
                    running -= 1
                }
                tasks.addTask {
                    for record in group { try await handleOne(record, handle) }
                }
                running += 1
            }
            try await tasks.waitForAll()
        }
    }

    /// One record: retried with backoff, dead-lettered when unreadable or after the last attempt.
    private func handleOne(_ record: ConsumedRecord, _ handle: @Sendable (CloudEvent) async throws -> Void) async throws {
        guard let event = CloudEvent(record: record) else {
            try await deadLetter(record, error: "not a CloudEvent in binary content mode", errorClass: "validation", attempts: 1)
            return
        }
        var backoff = configuration.firstBackoff
        for attempt in 1...max(1, configuration.attempts) {
            do {
                try await handle(event)
                return
            } catch let error as UnreadableEvent {
                try await deadLetter(record, error: error.description, errorClass: "validation", attempts: attempt)
                return
            } catch let error as any DeadLetterNow {
                try await deadLetter(record, error: "\(error)", errorClass: "processing", attempts: error.attempts)
                return
            } catch {
                guard attempt < configuration.attempts, !Task.isCancelled else {
                    if Task.isCancelled { throw CancellationError() }
                    try await deadLetter(record, error: "\(error)", errorClass: "processing", attempts: attempt)
                    return
                }
                logger.warning(
                    "event handling failed; retrying",
                    metadata: [
                        "consumer": "\(consumer)", "event_id": "\(event.id)", "attempt": "\(attempt)", "error": "\(error)",
                    ])
                try await Task.sleep(for: backoff)
                backoff *= 2
            }
        }
    }

    private func deadLetter(_ record: ConsumedRecord, error: String, errorClass: String, attempts: Int) async throws {
        let original = EventRecord(topic: record.topic, key: record.key, value: record.value, headers: record.headers)
        let dead = DeadLetter.record(for: original, topics: topics, error: error, errorClass: errorClass, attempts: attempts)
        if case .failure(let failure) = await eventLog.append([dead])[0] { throw failure }
        logger.error(
            "event dead-lettered",
            metadata: [
                "consumer": "\(consumer)", "topic": "\(record.topic)", "offset": "\(record.offset)", "error": "\(error)",
            ])
    }
}

/// A handler's error that already used its own retries: the record goes to `events-dlq` at once.
public protocol DeadLetterNow: Error {
    /// How many attempts were made (the `dlq-attempts` header).
    var attempts: Int { get }
}
