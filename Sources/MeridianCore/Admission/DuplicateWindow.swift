import DequeModule

/// Remembers recently seen event ids for a bounded time and count, to answer redeliveries as duplicates.
///
/// An id is *pending* from admission until its record is durable, then *done*. A failed publish
/// forgets the id, so the client's retry is accepted.
public struct DuplicateWindow: Sendable {
    /// An event's identity: CloudEvents ids are unique per source.
    public struct Key: Sendable, Hashable {
        public var source: String
        public var id: String

        public init(source: String, id: String) {
            self.source = source
            self.id = id
        }
    }

    public enum Check: Sendable, Hashable {
        /// Not seen: it is now pending.
        case new
        /// Seen and durable within the window.
        case duplicate
        /// Seen and still being published.
        case inProgress
    }

    private enum State: Sendable { case pending, done }
    private struct Entry: Sendable {
        var state: State
        var generation: UInt64
    }

    /// How long an id is remembered, in seconds.
    public let window: Double
    /// How many ids are remembered at most; the oldest are forgotten first.
    public let capacity: Int
    private var entries: [Key: Entry] = [:]
    private var order: Deque<(key: Key, at: Double, generation: UInt64)> = []
    private var nextGeneration: UInt64 = 0

    public init(window: Double, capacity: Int) {
        self.window = window
        self.capacity = capacity
    }

    public var count: Int { entries.count }

    /// Checks an id and, when new, marks it pending.
    public mutating func begin(_ key: Key, now: Double) -> Check {
        expire(now: now)
        if let entry = entries[key] {
            return entry.state == .done ? .duplicate : .inProgress
        }
        guard capacity > 0 else { return .new }
        while entries.count >= capacity, let oldest = order.popFirst() {
            if entries[oldest.key]?.generation == oldest.generation { entries[oldest.key] = nil }
        }
        nextGeneration &+= 1
        entries[key] = Entry(state: .pending, generation: nextGeneration)
        order.append((key, now, nextGeneration))
        return .new
    }

    /// Marks a pending id durable.
    public mutating func complete(_ key: Key) {
        entries[key]?.state = .done
    }

    /// Forgets a pending id whose publish failed.
    public mutating func abandon(_ key: Key) {
        if entries[key]?.state == .pending { entries[key] = nil }
    }

    private mutating func expire(now: Double) {
        while let oldest = order.first, now - oldest.at > window {
            order.removeFirst()
            if entries[oldest.key]?.generation == oldest.generation, entries[oldest.key]?.state == .done {
                entries[oldest.key] = nil
            }
        }
    }
}
