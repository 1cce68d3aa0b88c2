import Foundation
import Logging
import MeridianCore
import Metrics
import Synchronization

/// The outcome of one event.
public struct IngestOutcome: Sendable, Hashable {
    public enum Status: String, Sendable, Hashable {
        /// Durable in the `events` topic (or, with `ack=enqueued`, admitted and being published).
        case accepted
        /// Seen before within the duplicate window; not published again.
        case duplicate
        /// Invalid; never published.
        case rejected
        /// The log refused the record for good; it is durable in `events-dlq` instead.
        case deadLettered = "dead_lettered"
        /// Not stored anywhere; the client should retry.
        case failed
    }

    public var id: String?
    public var status: Status
    public var reason: String?
    /// For `failed`: seconds to wait before retrying.
    public var retryAfter: Double?
    /// For `failed`: an event with the same id was still being published.
    public var inProgress = false

    public init(id: String?, status: Status, reason: String? = nil, retryAfter: Double? = nil) {
        self.id = id
        self.status = status
        self.reason = reason
        self.retryAfter = retryAfter
    }
}

/// When a 202 is sent.
public enum AckMode: String, Sendable, Hashable {
    /// After the record is durable in the event log (the default).
    case durable
    /// As soon as the event is admitted; a crash before publishing loses it.
    case enqueued
}

/// The ingest pipeline without HTTP: admission, duplicate detection, publishing, dead-lettering.
public final class Ingestor: Sendable {
    /// Settings of the ingest pipeline.
    public struct Configuration: Sendable {
        public var decoder = EventDecoder.Configuration()
        public var admission = Admission.Configuration()
        /// When the client gets its 202. Default `durable`.
        public var ack: AckMode = .durable
        /// Events in one batch request, at most. Default 1,000.
        public var maxBatchEvents: Int = 1_000
        /// Bytes of one batch request, at most. Default 8 MiB.
        public var maxBatchBytes: Int = 8 * 1_048_576
        /// Seconds an event id is remembered to answer `duplicate`. Default 600.
        public var duplicateWindowSeconds: Double = 600
        /// Event ids remembered at most. Default 100,000.
        public var duplicateCapacity: Int = 100_000
        /// API keys accepted on ingest routes; empty means no key is required. Default empty.
        public var apiKeys: Set<String> = []

        public init() {}
    }

    private struct State: Sendable {
        var admission: Admission
        var duplicates: DuplicateWindow
        var idleWaiters: [CheckedContinuation<Void, Never>] = []
        var backgroundTasks = 0
    }

    /// The result of admitting a request.
    public enum Admitted: Sendable {
        case admitted
        case refused(Admission.Decision)
    }

    public let configuration: Configuration
    public let decoder: EventDecoder
    public let topics: Topics
    private let eventLog: any EventLog
    private let logger: Logger
    private let state: Mutex<State>
    private let clock: @Sendable () -> Double
    private let metrics: IngestMetrics

    public init(
        eventLog: any EventLog,
        topics: Topics,
        configuration: Configuration,
        logger: Logger,
        metrics: any MetricsFactory = MetricsSystem.factory,
        clock: @escaping @Sendable () -> Double = monotonicSeconds
    ) throws {
        self.eventLog = eventLog
        self.topics = topics
        self.configuration = configuration
        self.decoder = try EventDecoder(configuration: configuration.decoder)
        self.logger = logger
        self.clock = clock
        self.metrics = IngestMetrics(factory: metrics)
        self.state = Mutex(
            State(
                admission: Admission(configuration: configuration.admission, now: clock()),
                duplicates: DuplicateWindow(
                    window: configuration.duplicateWindowSeconds, capacity: configuration.duplicateCapacity)))
    }

    // MARK: Admission

    /// Admits `events` events of `bytes` bytes from `client`, or says why not.
    public func admit(client: String, events: Int, bytes: Int) -> Admitted {
        let now = clock()
        let decision = state.withLock { $0.admission.admit(client: client, events: events, bytes: bytes, now: now) }
        switch decision {
        case .admitted:
            metrics.inflight(adding: events)
            return .admitted
        case .rateLimited:
            metrics.count(.rateLimited, events)
            return .refused(decision)
        case .shed, .draining:
            metrics.count(.shed, events)
            return .refused(decision)
        }
    }

    /// Counts events refused by validation.
    public func countRejected(_ count: Int) {
        metrics.count(.rejected, count)
    }

    // MARK: Publishing

    /// Publishes admitted events and returns their outcomes, in order.
    ///
    /// With `ack=durable` this returns once each record is durable (or definitively not); with
    /// `ack=enqueued` it returns at once and publishes in the background.
    public func publish(_ events: [CloudEvent], bytes: Int, traceparent: String?) async -> [IngestOutcome] {
        metrics.count(.accepted, events.count)
        switch configuration.ack {
        case .durable:
            defer { release(events: events.count, bytes: bytes) }
            return await publishDurably(events, traceparent: traceparent)
        case .enqueued:
            state.withLock { $0.backgroundTasks += 1 }
            Task {
                _ = await self.publishDurably(events, traceparent: traceparent)
                self.state.withLock { $0.backgroundTasks -= 1 }
                self.release(events: events.count, bytes: bytes)
            }
            return events.map { IngestOutcome(id: $0.id, status: .accepted) }
        }
    }

    private func publishDurably(_ events: [CloudEvent], traceparent: String?) async -> [IngestOutcome] {
        let now = clock()
        var outcomes = [IngestOutcome?](repeating: nil, count: events.count)
        var toPublish: [(index: Int, key: DuplicateWindow.Key?, record: EventRecord)] = []
        toPublish.reserveCapacity(events.count)
        // A repeat of an event earlier in the same request shares that event's fate.
        var repeats: [(index: Int, of: Int)] = []
        var firstInRequest: [DuplicateWindow.Key: Int] = [:]
        state.withLock { state in
            for (index, event) in events.enumerated() {
                if event.hasGeneratedID {
                    toPublish.append((index, nil, event.record(topic: topics.events, traceparent: traceparent)))
                    continue
                }
                let key = DuplicateWindow.Key(source: event.source, id: event.id)
                if let first = firstInRequest[key] {
                    repeats.append((index, first))
                    continue
                }
                firstInRequest[key] = index
                switch state.duplicates.begin(key, now: now) {
                case .new:
                    toPublish.append((index, key, event.record(topic: topics.events, traceparent: traceparent)))
                case .duplicate:
                    outcomes[index] = IngestOutcome(id: event.id, status: .duplicate)
                case .inProgress:
                    var outcome = IngestOutcome(
                        id: event.id, status: .failed, reason: "an event with this id is being published", retryAfter: 1)
                    outcome.inProgress = true
                    outcomes[index] = outcome
                }
            }
        }

        let start = ContinuousClock.now
        let results = await eventLog.append(toPublish.map(\.record))
        metrics.publishDuration(start.duration(to: .now))

        // Records the log refused for good go to the dead-letter topic.
        var deadLetters: [(slot: Int, record: EventRecord)] = []
        for (slot, result) in results.enumerated() {
            if case .failure(let error) = result, error.isPermanentForRecord {
                let original = toPublish[slot].record
                deadLetters.append(
                    (
                        slot,
                        DeadLetter.record(
                            for: original, topics: topics, error: error.message, errorClass: error.deadLetterClass,
                            attempts: 1)
                    ))
            }
        }
        var deadLetterResults: [Int: Result<RecordPosition, EventLogError>] = [:]
        if !deadLetters.isEmpty {
            let written = await eventLog.append(deadLetters.map(\.record))
            for (entry, result) in zip(deadLetters, written) { deadLetterResults[entry.slot] = result }
        }

        var completed: [DuplicateWindow.Key] = []
        var abandoned: [DuplicateWindow.Key] = []
        var published = 0
        for (slot, result) in results.enumerated() {
            let (index, key, _) = toPublish[slot]
            let id = events[index].id
            switch result {
            case .success:
                outcomes[index] = IngestOutcome(id: id, status: .accepted)
                if let key { completed.append(key) }
                published += 1
            case .failure(let error):
                if case .success = deadLetterResults[slot] {
                    outcomes[index] = IngestOutcome(id: id, status: .deadLettered, reason: error.message)
                    if let key { completed.append(key) }
                    metrics.count(.deadLettered, 1)
                    logger.warning(
                        "event dead-lettered", metadata: ["event_id": .string(id), "error": .string(error.description)])
                } else {
                    outcomes[index] = IngestOutcome(
                        id: id, status: .failed, reason: error.message,
                        retryAfter: error.code == .queueFull ? 1 : 2)
                    if let key { abandoned.append(key) }
                    metrics.count(.failed, 1)
                    logger.error(
                        "event not stored", metadata: ["event_id": .string(id), "error": .string(error.description)])
                }
            }
        }
        state.withLock { state in
            for key in completed { state.duplicates.complete(key) }
            for key in abandoned { state.duplicates.abandon(key) }
        }
        for (index, first) in repeats {
            var outcome = outcomes[first]!
            if outcome.status == .accepted || outcome.status == .deadLettered || outcome.status == .duplicate {
                outcome = IngestOutcome(id: outcome.id, status: .duplicate)
            }
            outcomes[index] = outcome
        }
        metrics.count(.published, published)
        metrics.count(.duplicate, outcomes.count { $0?.status == .duplicate })
        return outcomes.map { $0! }
    }

    private func release(events: Int, bytes: Int) {
        metrics.inflight(adding: -events)
        let waiters = state.withLock { state -> [CheckedContinuation<Void, Never>] in
            state.admission.release(events: events, bytes: bytes)
            guard state.admission.inflightEvents == 0, state.backgroundTasks == 0 else { return [] }
            defer { state.idleWaiters = [] }
            return state.idleWaiters
        }
        for waiter in waiters { waiter.resume() }
    }

    // MARK: Draining

    /// True once draining started: readiness fails and new events are refused.
    public var isDraining: Bool { state.withLock { $0.admission.isDraining } }

    /// Events admitted and not yet answered.
    public var inflightEvents: Int { state.withLock { $0.admission.inflightEvents } }

    /// Refuses new events from now on and returns when every admitted event has its outcome.
    public func drain() async {
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            let idle = state.withLock { state -> Bool in
                state.admission.startDraining()
                if state.admission.inflightEvents == 0 && state.backgroundTasks == 0 { return true }
                state.idleWaiters.append(continuation)
                return false
            }
            if idle { continuation.resume() }
        }
    }
}

/// The ingest metrics of CONTRACTS.md.
final class IngestMetrics: Sendable {
    enum Outcome: String, CaseIterable {
        case accepted, rejected, shed, duplicate, published, failed
        case rateLimited = "rate_limited"
        case deadLettered = "dead_lettered"
    }

    private let counters: [Outcome: Counter]
    private let inflightGauge: Gauge
    private let inflightCount = Atomic<Int>(0)
    private let publish: Metrics.Timer

    init(factory: any MetricsFactory) {
        var counters: [Outcome: Counter] = [:]
        for outcome in Outcome.allCases {
            counters[outcome] = Counter(
                label: "meridian_ingest_events_total", dimensions: [("outcome", outcome.rawValue)], factory: factory)
        }
        self.counters = counters
        self.inflightGauge = Gauge(label: "meridian_ingest_inflight_events", factory: factory)
        self.publish = Metrics.Timer(
            label: "meridian_ingest_publish_duration_seconds", preferredDisplayUnit: .seconds, factory: factory)
    }

    func count(_ outcome: Outcome, _ amount: Int) {
        if amount > 0 { counters[outcome]?.increment(by: amount) }
    }

    func inflight(adding amount: Int) {
        let now = inflightCount.add(amount, ordering: .relaxed).newValue
        inflightGauge.record(now)
    }

    func publishDuration(_ duration: Duration) {
        publish.recordNanoseconds(duration.nanoseconds)
    }
}
