import Foundation
import Logging
import MeridianCore
import Synchronization
import Tracing

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
        /// product) always one after the other, in order. Default 32.
        public var concurrency = 32
        /// Records a consumer holds at most (being handled or waiting their turn); it polls only for the
        /// room left. Default 512.
        public var capacity = 512

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

    /// Consumes `consumer` until the task is cancelled: each record's event goes to `handle` as soon as its
    /// key's previous record is done and a slot is free (``Delivery``), while the next records are polled;
    /// offsets are committed as the records before them are done, one commit at a time. Throws when a
    /// dead-letter record could not be written (what was not committed then comes again); on cancellation
    /// it commits what was done and returns.
    public func consume(
        _ consumer: any EventLogConsumer, _ handle: @escaping @Sendable (CloudEvent) async throws -> Void
    ) async throws {
        try await drive(
            capacity: configuration.capacity,
            poll: { room in try await consumer.poll(maxRecords: room, timeout: .milliseconds(500)) },
            commit: { records in try await consumer.commit(records) },
            handle)
    }

    /// Hands each record's event to `handle` by the same rules as ``consume(_:_:)`` (one key in order, different
    /// keys side by side) and returns when every record was handled or dead-lettered; throws only when a
    /// dead-letter record could not be written.
    public func dispatch(_ records: [ConsumedRecord], _ handle: @escaping @Sendable (CloudEvent) async throws -> Void)
        async throws
    {
        let pending = Mutex<[ConsumedRecord]?>(records)
        try await drive(
            capacity: max(records.count, 1), poll: { _ in pending.withLock { $0.take() } }, commit: nil, handle)
    }

    private enum Step: Sendable {
        /// Records polled; nil when the source has no more.
        case polled([ConsumedRecord]?)
        case handled(Delivery.Item)
        case committed
    }

    /// The pipeline: a poll outstanding while there is room, handlers as ``Delivery`` allows, one commit at a time.
    private func drive(
        capacity: Int,
        poll: @escaping @Sendable (Int) async throws -> [ConsumedRecord]?,
        commit: (@Sendable ([ConsumedRecord]) async throws -> Void)?,
        _ handle: @escaping @Sendable (CloudEvent) async throws -> Void
    ) async throws {
        var delivery = Delivery(concurrency: configuration.concurrency, capacity: capacity)
        do {
            try await withThrowingTaskGroup(of: Step.self) { tasks in
                var polling = false
                var exhausted = false
                var committing = false
                func start(_ items: [Delivery.Item]) {
                    for item in items {
                        tasks.addTask {
                            try await handleOne(item.record, handle)
                            return .handled(item)
                        }
                    }
                }
                while true {
                    if !polling, !exhausted, !Task.isCancelled, delivery.room > 0 {
                        polling = true
                        let room = delivery.room
                        tasks.addTask { .polled(try await poll(room)) }
                    }
                    if !committing, let commit {
                        let records = delivery.takeCommittable()
                        if !records.isEmpty {
                            committing = true
                            tasks.addTask {
                                try await commit(records)
                                return .committed
                            }
                        }
                    }
                    guard let step = try await tasks.next() else { return }
                    switch step {
                    case .polled(let records?):
                        polling = false
                        start(delivery.received(records))
                    case .polled(nil):
                        polling = false
                        exhausted = true
                    case .handled(let item):
                        start(delivery.finished(item))
                    case .committed:
                        committing = false
                    }
                }
            }
        } catch {
            // Stopping (cancelled, or a record could not be dead-lettered): keep what was done.
            if let commit {
                let records = delivery.takeCommittable()
                if !records.isEmpty { try? await uncancelled { try await commit(records) } }
            }
            throw error
        }
        if let commit {
            let records = delivery.takeCommittable()
            if !records.isEmpty { try await commit(records) }
        }
    }

    /// One record: retried with backoff, dead-lettered when unreadable or after the last attempt.
    ///
    /// With tracing on, the handling is a consumer span in the trace the record's `traceparent` names (the request
    /// that wrote it), and what the handler writes to its outbox carries this span's context on.
    private func handleOne(_ record: ConsumedRecord, _ handle: @Sendable (CloudEvent) async throws -> Void) async throws {
        guard let event = CloudEvent(record: record) else {
            try await deadLetter(record, error: "not a CloudEvent in binary content mode", errorClass: "validation", attempts: 1)
            return
        }
        let parent = TraceContext.extract(record.headers)
        try await withSpan("process \(event.type)", context: parent, ofKind: .consumer) { span in
            span.attributes["messaging.operation.type"] = "process"
            span.attributes["messaging.destination.name"] = record.topic
            span.attributes["messaging.destination.partition.id"] = "\(record.partition)"
            span.attributes["messaging.consumer.group.name"] = consumer
            span.attributes["messaging.message.id"] = event.id
            span.attributes["cloudevents.event_type"] = event.type
            try await handleAttempts(record, event, span: span, handle)
        }
    }

    private func handleAttempts(
        _ record: ConsumedRecord, _ event: CloudEvent, span: any Span, _ handle: @Sendable (CloudEvent) async throws -> Void
    ) async throws {
        var backoff = configuration.firstBackoff
        for attempt in 1...max(1, configuration.attempts) {
            do {
                try await handle(event)
                return
            } catch let error as UnreadableEvent {
                try await deadLetter(record, span: span, error: error.description, errorClass: "validation", attempts: attempt)
                return
            } catch let error as any DeadLetterNow {
                try await deadLetter(record, span: span, error: "\(error)", errorClass: "processing", attempts: error.attempts)
                return
            } catch {
                span.recordError(error)
                guard attempt < configuration.attempts, !Task.isCancelled else {
                    if Task.isCancelled { throw CancellationError() }
                    try await deadLetter(record, span: span, error: "\(error)", errorClass: "processing", attempts: attempt)
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

    private func deadLetter(
        _ record: ConsumedRecord, span: (any Span)? = nil, error: String, errorClass: String, attempts: Int
    ) async throws {
        span?.setStatus(SpanStatus(code: .error, message: "dead-lettered (\(errorClass))"))
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
