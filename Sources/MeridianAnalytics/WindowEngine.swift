/// Event-time tumbling windows with watermarks, allowed lateness and revisions: the analytics engine's rules, as a
/// state machine without I/O (CONTRACTS.md "Analytics jobs"). The caller feeds it inputs and the wall clock; it
/// answers with the windows to emit. Its state is `Codable`, so that it is checkpointed with the input positions.
///
/// - The watermark of a partition is the largest event time it delivered minus the allowed out-of-orderness; the
///   engine's watermark is the smallest over the partitions that are not idle (silent for longer than
///   ``Configuration/idleTimeout``), and follows the wall clock (minus the out-of-orderness) when every partition is
///   idle, so that a quiet shop still closes its windows. It never goes back.
/// - A window `[start, start + size)` is emitted (revision 1) once the watermark reaches its end.
/// - An input for a window already emitted but within the allowed lateness (its end + lateness is past the
///   watermark) updates it and emits it again with the next revision; a later one is refused as too late (the caller
///   counts it and dead-letters it). A window is forgotten once the watermark passes its end + lateness.
public struct WindowEngine<State: WindowAccumulator>: Sendable, Codable {
    public struct Configuration: Sendable, Codable, Hashable {
        /// The window's size. Default one minute.
        public var size: Int64 = 60_000
        /// How far behind the largest event time an input may arrive and still be on time. Default 5 s.
        public var outOfOrderness: Int64 = 5_000
        /// How long after its end a window still takes inputs (each a new revision). Default 60 s.
        public var allowedLateness: Int64 = 60_000
        /// A partition silent for longer stops holding the watermark back. Default 30 s; nil: never.
        public var idleTimeout: Int64? = 30_000

        public init() {}
    }

    /// A window of a key (times in milliseconds since 1970).
    public struct WindowKey: Sendable, Codable, Hashable, Comparable {
        public var start: Int64
        public var key: String

        public static func < (lhs: WindowKey, rhs: WindowKey) -> Bool { (lhs.start, lhs.key) < (rhs.start, rhs.key) }
    }

    /// A window to write to the sinks.
    public struct Emission: Sendable, Hashable {
        public var window: WindowKey
        public var end: Int64
        public var state: State
        /// 1 for the first emission, then one more for each late update.
        public var revision: Int
    }

    /// What became of one input.
    public enum Outcome: Sendable, Hashable {
        /// Counted in an open window.
        case accepted
        /// Counted in a window already emitted: emit it again.
        case revised(Emission)
        /// Past the allowed lateness: not counted.
        case tooLate
    }

    struct Entry: Sendable, Codable, Hashable {
        var state: State
        /// 0 until emitted.
        var revision: Int
    }

    struct Partition: Sendable, Codable, Hashable {
        var maxEventTime: Int64
        var lastSeen: Int64
    }

    public let configuration: Configuration
    public private(set) var watermark: Int64 = .min
    var partitions: [Int: Partition] = [:]
    var windows: [WindowKey: Entry] = [:]
    /// The earliest watermark at which a window is due (emitted, or forgotten after its lateness): below it, moving
    /// the watermark looks at no window. `.min` (after a restore) means not known yet. Not part of the checkpoint.
    var nextBoundary: Int64 = .min

    enum CodingKeys: String, CodingKey {
        case configuration, watermark, partitions, windows
    }

    public init(configuration: Configuration = .init()) {
        self.configuration = configuration
    }

    /// The start of the window `time` falls in (floor division: times before 1970 too).
    public func windowStart(of time: Int64) -> Int64 {
        let size = max(configuration.size, 1)
        let remainder = time % size
        let start = time - remainder
        return remainder >= 0 ? start : Saturating.minus(start, size)
    }

    /// The partitions of the input, known before they deliver anything (a job starting or restarting): one that has
    /// delivered nothing yet holds the watermark back until it delivers or goes idle, so that a partition read later
    /// than the others does not find its windows closed. Every partition's idle timeout starts again at `now`: the
    /// time the job was down is not the partitions' silence.
    public mutating func expect(partitions ids: some Sequence<Int>, now: Int64) {
        for id in partitions.keys { partitions[id]?.lastSeen = now }
        for id in ids where partitions[id] == nil { partitions[id] = Partition(maxEventTime: .min, lastSeen: now) }
    }

    /// Adds `value` (at event time `time`, from `partition`) to its window of `key`; `now` is the wall clock.
    public mutating func observe(
        time: Int64, partition: Int, key: String, now: Int64, update: (inout State) -> Void
    ) -> Outcome {
        var seen = partitions[partition] ?? Partition(maxEventTime: time, lastSeen: now)
        seen.maxEventTime = max(seen.maxEventTime, time)
        seen.lastSeen = max(seen.lastSeen, now)
        partitions[partition] = seen
        let window = WindowKey(start: windowStart(of: time), key: key)
        let (end, endOverflow) = window.start.addingReportingOverflow(configuration.size)
        let (closes, closesOverflow) = end.addingReportingOverflow(configuration.allowedLateness)
        if !endOverflow, end <= watermark {
            // Emitted already (or never will be on time): within the lateness it is revised, else refused.
            guard closesOverflow || closes > watermark else { return .tooLate }
            var entry = windows[window] ?? Entry(state: State(), revision: 0)
            update(&entry.state)
            entry.revision += 1
            windows[window] = entry
            if !closesOverflow { nextBoundary = min(nextBoundary, closes) }
            return .revised(Emission(window: window, end: end, state: entry.state, revision: entry.revision))
        }
        if !endOverflow { nextBoundary = min(nextBoundary, end) }
        update(&windows[window, default: Entry(state: State(), revision: 0)].state)
        return .accepted
    }

    /// Moves the watermark for the wall clock `now`, and returns the windows it closes, in time and key order.
    public mutating func advance(now: Int64) -> [Emission] {
        var lowest: Int64?
        for partition in partitions.values {
            if let idle = configuration.idleTimeout, now - partition.lastSeen > idle { continue }
            let mark = Saturating.minus(partition.maxEventTime, configuration.outOfOrderness)
            lowest = min(lowest ?? mark, mark)
        }
        let candidate: Int64
        if let lowest {
            candidate = lowest
        } else if configuration.idleTimeout != nil, !partitions.isEmpty || !windows.isEmpty {
            candidate = Saturating.minus(now, configuration.outOfOrderness)
        } else {
            candidate = watermark
        }
        return moveWatermark(to: candidate)
    }

    /// The end of the input (a replay): every window is emitted and forgotten.
    public mutating func finish() -> [Emission] {
        moveWatermark(to: .max)
    }

    private mutating func moveWatermark(to candidate: Int64) -> [Emission] {
        guard candidate > watermark else { return [] }
        watermark = candidate
        guard watermark >= nextBoundary else { return [] }
        var emitted: [Emission] = []
        var next = Int64.max
        for (window, entry) in windows.sorted(by: { $0.key < $1.key }) {
            let end = Saturating.plus(window.start, configuration.size)
            let (closes, closesOverflow) = end.addingReportingOverflow(configuration.allowedLateness)
            guard end <= watermark else {
                next = min(next, end)
                continue
            }
            if entry.revision == 0 {
                windows[window]?.revision = 1
                emitted.append(Emission(window: window, end: end, state: entry.state, revision: 1))
            }
            if watermark == .max || (!closesOverflow && closes <= watermark) {
                windows[window] = nil
            } else if !closesOverflow {
                next = min(next, closes)
            }
        }
        nextBoundary = next
        return emitted
    }

    /// The windows not emitted yet, as they stand (provisional results for a dashboard), in time and key order.
    public var open: [Emission] {
        windows.filter { $0.value.revision == 0 }.sorted { $0.key < $1.key }.map {
            Emission(
                window: $0.key, end: Saturating.plus($0.key.start, configuration.size),
                state: $0.value.state, revision: 0)
        }
    }

    /// How far the watermark is behind the wall clock `now`, in milliseconds (0 before any input).
    public func lag(now: Int64) -> Int64 {
        watermark == .min ? 0 : max(0, Saturating.minus(now, watermark))
    }
}

/// What a window accumulates for one key: made empty, then updated by each input.
public protocol WindowAccumulator: Sendable, Codable, Hashable {
    init()
}

/// `Int64` sums and differences held at the ends instead of trapping or wrapping: client times and amounts can be
/// anything.
enum Saturating {
    static func plus(_ a: Int64, _ b: Int64) -> Int64 {
        let (value, overflow) = a.addingReportingOverflow(b)
        return overflow ? (b > 0 ? .max : .min) : value
    }

    static func minus(_ a: Int64, _ b: Int64) -> Int64 {
        let (value, overflow) = a.subtractingReportingOverflow(b)
        return overflow ? (b > 0 ? .min : .max) : value
    }
}
