import Foundation
import MeridianContracts
import MeridianCore

/// `analytics.window` (CONTRACTS.md): one window's result for one key.
public struct WindowResult: Sendable, Hashable, Codable {
    public var job: String
    public var windowStart: String
    public var windowEnd: String
    public var key: String
    public var metrics: [String: MetricValue]
    public var revision: Int
    public var emittedAt: String

    public init(
        job: String, windowStart: String, windowEnd: String, key: String, metrics: [String: MetricValue], revision: Int,
        emittedAt: String
    ) {
        self.job = job
        self.windowStart = windowStart
        self.windowEnd = windowEnd
        self.key = key
        self.metrics = metrics
        self.revision = revision
        self.emittedAt = emittedAt
    }

    enum CodingKeys: String, CodingKey {
        case job, key, metrics, revision
        case windowStart = "window_start"
        case windowEnd = "window_end"
        case emittedAt = "emitted_at"
    }
}

/// A job's engine with its lifetime ledger: events in, results out (each emission and revision).
public struct AnalyticsRun: Sendable {
    public let job: AnalyticsJob
    public private(set) var engine: WindowEngine<Aggregate>
    public private(set) var ledger = LifetimeLedger()
    /// Events of the job's type refused as too late.
    public private(set) var late = 0
    /// Events of the job's type counted.
    public private(set) var counted = 0
    /// Open windows counted into since the last ``provisional(now:)``, when ``tracksProvisional``.
    var touched: Set<WindowEngine<Aggregate>.WindowKey> = []
    /// Whether to keep what ``provisional(now:)`` needs (the service does; a replay need not).
    public var tracksProvisional = false

    public init(job: AnalyticsJob, configuration: WindowEngine<Aggregate>.Configuration) {
        self.job = job
        engine = WindowEngine(configuration: configuration)
    }

    /// What a checkpoint keeps of the run: the engine's windows and watermark, and the lifetime ledger.
    struct Snapshot: Codable {
        var engine: WindowEngine<Aggregate>
        var ledger: LifetimeLedger
    }

    /// The run's state, for ``AnalyticsCheckpoint/state``.
    public func snapshot() throws -> Data {
        try JSONEncoder().encode(Snapshot(engine: engine, ledger: ledger))
    }

    /// Takes up the state of a checkpoint.
    public mutating func restore(_ state: Data) throws {
        let snapshot = try JSONDecoder().decode(Snapshot.self, from: state)
        engine = snapshot.engine
        ledger = snapshot.ledger
    }

    /// The input's partitions: see ``WindowEngine/expect(partitions:now:)``.
    public mutating func expect(partitions: some Sequence<Int>, now: Int64) {
        engine.expect(partitions: partitions, now: now)
    }

    /// Counts `event` (when it is of the job's type and has a key and a time); returns what it revised.
    public mutating func observe(_ event: CloudEvent, partition: Int, now: Int64) -> [WindowResult] {
        guard event.type == job.eventType.rawValue,
            let data = EventFields(json: event.data), let key = job.key(data)
        else { return [] }
        let millis = Int64((event.time.timeIntervalSince1970 * 1000).rounded(.down))
        let update = job.update
        switch engine.observe(time: millis, partition: partition, key: key, now: now, update: { update(&$0, data) }) {
        case .accepted:
            counted += 1
            if tracksProvisional { touched.insert(.init(start: engine.windowStart(of: millis), key: key)) }
            return []
        case .revised(let emission):
            counted += 1
            return [result(emission, now: now)]
        case .tooLate:
            late += 1
            return []
        }
    }

    /// Moves the watermark for the wall clock `now`; returns the windows it closed.
    public mutating func advance(now: Int64) -> [WindowResult] {
        let emitted = engine.advance(now: now).map { result($0, now: now) }
        // Windows go past their lateness only when some window is due: folding then is enough (and far cheaper
        // than after every event of a replay).
        if !emitted.isEmpty { fold() }
        return emitted
    }

    /// The windows counted into since the last call that are still open, as they stand (revision 0): provisional
    /// results for a dashboard.
    public mutating func provisional(now: Int64) -> [WindowResult] {
        defer { touched = [] }
        return touched.sorted().compactMap { window in
            guard let entry = engine.windows[window], entry.revision == 0 else { return nil }
            var lifetime: Int64 = 0
            if job.cumulative { lifetime = ledger.total(key: window.key, windowStart: window.start, sum: entry.state.sum) }
            return WindowResult(
                job: job.name, windowStart: Self.time(window.start),
                windowEnd: Self.time(Saturating.plus(window.start, engine.configuration.size)), key: window.key,
                metrics: job.metrics(entry.state, lifetime), revision: 0, emittedAt: Self.time(now))
        }
    }

    /// Closes every window (the end of a replay).
    public mutating func finish(now: Int64) -> [WindowResult] {
        engine.finish().map { result($0, now: now) }
    }

    private mutating func fold() {
        let limit = Saturating.minus(
            Saturating.minus(engine.watermark, engine.configuration.size), engine.configuration.allowedLateness)
        ledger.fold(before: limit)
    }

    private mutating func result(_ emission: WindowEngine<Aggregate>.Emission, now: Int64) -> WindowResult {
        var lifetime: Int64 = 0
        if job.cumulative {
            lifetime = ledger.record(key: emission.window.key, windowStart: emission.window.start, sum: emission.state.sum)
        }
        return WindowResult(
            job: job.name, windowStart: Self.time(emission.window.start), windowEnd: Self.time(emission.end),
            key: emission.window.key, metrics: job.metrics(emission.state, lifetime), revision: emission.revision,
            emittedAt: Self.time(now))
    }

    static func time(_ millis: Int64) -> String {
        Timestamp.format(Date(timeIntervalSince1970: Double(millis) / 1000))
    }
}

/// `meridian analytics replay`: a job over a file of structured CloudEvents (one per line), as one partition, the
/// watermark advancing after every event and the end of the input closing every window; every emitted result (each
/// revision) in order. Lines that are not CloudEvents are counted and skipped.
public enum AnalyticsReplay {
    public struct Summary: Sendable, Hashable {
        public var events = 0
        public var skipped = 0
        public var late = 0
        public var results = 0
    }

    public static func run(
        job: AnalyticsJob, configuration: WindowEngine<Aggregate>.Configuration, lines: some Sequence<[UInt8]>,
        emit: (WindowResult) throws -> Void
    ) rethrows -> Summary {
        var configuration = configuration
        configuration.idleTimeout = nil
        var run = AnalyticsRun(job: job, configuration: configuration)
        var summary = Summary()
        var latest: Int64 = 0
        let decoder = try? EventDecoder()
        let now = Date()
        for line in lines where !line.allSatisfy({ $0 == 0x20 || $0 == 0x09 || $0 == 0x0D }) {
            guard let event = try? decoder?.decodeSingle(line, format: .cloudEvent, receivedAt: now) else {
                summary.skipped += 1
                continue
            }
            summary.events += 1
            latest = max(latest, Int64((event.time.timeIntervalSince1970 * 1000).rounded(.down)))
            for result in run.observe(event, partition: 0, now: latest) + run.advance(now: latest) {
                summary.results += 1
                try emit(result)
            }
        }
        for result in run.finish(now: latest) {
            summary.results += 1
            try emit(result)
        }
        summary.late = run.late
        return summary
    }
}
