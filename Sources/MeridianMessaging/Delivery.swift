import DequeModule
import MeridianCore

/// Which of a consumer's records may be handled now, and which offsets may be committed: the rules of
/// the consumer pipeline, without I/O (``EventHandling/consume(_:_:)`` drives it).
///
/// - Records of one key are handled one after the other, in the order they came; records of different
///   keys side by side, at most `concurrency` at a time. A record without a key has no order to keep.
/// - At most `capacity` records are held (handled, or waiting for their key or a slot): the consumer
///   polls only for the room left, so a slow handler slows the polling instead of filling memory.
/// - A partition's offset moves past a record only when it and every record before it in that partition
///   are done, so a crash redelivers what was not finished (at-least-once) and never skips a record.
public struct Delivery: Sendable {
    /// A record and the number it got when it came (offsets alone may repeat across partitions).
    public struct Item: Sendable {
        public var number: UInt64
        public var record: ConsumedRecord
    }

    private struct PartitionKey: Hashable {
        var topic: String
        var partition: Int32
    }

    private struct Progress {
        /// Numbers of the records not done yet, or done but behind one that is not, oldest first.
        var order: Deque<UInt64> = []
        /// Records done while one before them in the partition is not.
        var done: [UInt64: ConsumedRecord] = [:]
        /// The last record the offset can move past, not committed yet.
        var committable: ConsumedRecord?
    }

    public let concurrency: Int
    public let capacity: Int
    /// Records received and not done.
    public private(set) var held = 0
    /// Records being handled now.
    public private(set) var running = 0

    private var nextNumber: UInt64 = 0
    /// Per key with a record ready or running: the records of that key waiting behind it.
    private var lanes: [[UInt8]: Deque<Item>] = [:]
    /// Records whose turn it is, waiting for a slot.
    private var ready: Deque<Item> = []
    private var partitions: [PartitionKey: Progress] = [:]

    public init(concurrency: Int, capacity: Int) {
        self.concurrency = max(1, concurrency)
        self.capacity = max(1, capacity)
    }

    /// How many records the next poll may bring.
    public var room: Int { max(0, capacity - held) }

    /// Takes polled records (in the order the log gave them); returns those to start now.
    public mutating func received(_ records: [ConsumedRecord]) -> [Item] {
        for record in records {
            let item = Item(number: nextNumber, record: record)
            nextNumber &+= 1
            held += 1
            partitions[PartitionKey(topic: record.topic, partition: record.partition), default: Progress()].order.append(
                item.number)
            if let key = record.key {
                if lanes[key] != nil {
                    lanes[key]!.append(item)
                    continue
                }
                lanes[key] = []
            }
            ready.append(item)
        }
        return startable()
    }

    /// Notes that `item` was handled (or dead-lettered); returns the records to start now.
    public mutating func finished(_ item: Item) -> [Item] {
        held -= 1
        running -= 1
        let record = item.record
        if let key = record.key {
            if var waiting = lanes[key], let next = waiting.popFirst() {
                lanes[key] = waiting
                ready.append(next)
            } else {
                lanes[key] = nil
            }
        }
        let partition = PartitionKey(topic: record.topic, partition: record.partition)
        if var progress = partitions[partition] {
            progress.done[item.number] = record
            while let first = progress.order.first, let passed = progress.done.removeValue(forKey: first) {
                progress.order.removeFirst()
                progress.committable = passed
            }
            partitions[partition] = progress
        }
        return startable()
    }

    /// For each partition whose offset moved since the last call, the last record it moved past.
    public mutating func takeCommittable() -> [ConsumedRecord] {
        var records: [ConsumedRecord] = []
        for (key, progress) in partitions {
            guard let record = progress.committable else { continue }
            records.append(record)
            if progress.order.isEmpty && progress.done.isEmpty {
                partitions[key] = nil
            } else {
                partitions[key]?.committable = nil
            }
        }
        return records
    }

    private mutating func startable() -> [Item] {
        var start: [Item] = []
        while running < concurrency, let item = ready.popFirst() {
            running += 1
            start.append(item)
        }
        return start
    }
}
