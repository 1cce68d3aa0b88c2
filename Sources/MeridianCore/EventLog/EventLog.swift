import Foundation

/// A header of an event-log record.
///
/// A header made from text keeps the text (no byte copy): a record carries half a dozen of them and
/// they are made for every event.
public struct EventHeader: Sendable, Hashable {
    private enum Storage: Sendable {
        case text(String)
        case bytes([UInt8])
    }

    public var name: String
    private var storage: Storage

    public init(_ name: String, _ value: String) {
        self.name = name
        self.storage = .text(value)
    }

    public init(name: String, value: [UInt8]) {
        self.name = name
        self.storage = .bytes(value)
    }

    /// The value's bytes.
    public var value: [UInt8] {
        switch storage {
        case .text(let text): Array(text.utf8)
        case .bytes(let bytes): bytes
        }
    }

    /// The value as UTF-8 text (invalid bytes are repaired).
    public var stringValue: String {
        switch storage {
        case .text(let text): text
        case .bytes(let bytes): String(decoding: bytes, as: UTF8.self)
        }
    }

    /// The value's size in bytes.
    public var byteCount: Int {
        switch storage {
        case .text(let text): text.utf8.count
        case .bytes(let bytes): bytes.count
        }
    }

    /// Calls `body` with the value's bytes, without copying them.
    public func withValueBytes<Result>(_ body: (UnsafeRawBufferPointer) throws -> Result) rethrows -> Result {
        switch storage {
        case .text(var text):
            return try text.withUTF8 { try body(UnsafeRawBufferPointer($0)) }
        case .bytes(let bytes):
            return try bytes.withUnsafeBytes(body)
        }
    }

    public static func == (lhs: EventHeader, rhs: EventHeader) -> Bool {
        lhs.name == rhs.name && lhs.withValueBytes { left in rhs.withValueBytes { right in left.elementsEqual(right) } }
    }

    public func hash(into hasher: inout Hasher) {
        hasher.combine(name)
        withValueBytes { hasher.combine(bytes: $0) }
    }
}

/// A record to append to the event log.
public struct EventRecord: Sendable, Hashable {
    public var topic: String
    public var key: [UInt8]?
    public var value: [UInt8]
    public var headers: [EventHeader]

    public init(topic: String, key: [UInt8]?, value: [UInt8], headers: [EventHeader] = []) {
        self.topic = topic
        self.key = key
        self.value = value
        self.headers = headers
    }

    /// Approximate size in bytes of the record on the wire.
    public var size: Int {
        value.count + (key?.count ?? 0) + headers.reduce(0) { $0 + $1.name.utf8.count + $1.byteCount }
    }
}

/// Where an appended record landed.
public struct RecordPosition: Sendable, Hashable {
    public var topic: String
    public var partition: Int32
    public var offset: Int64

    public init(topic: String, partition: Int32, offset: Int64) {
        self.topic = topic
        self.partition = partition
        self.offset = offset
    }
}

/// A record read from the event log.
public struct ConsumedRecord: Sendable, Hashable {
    public var topic: String
    public var partition: Int32
    public var offset: Int64
    public var key: [UInt8]?
    public var value: [UInt8]
    public var headers: [EventHeader]
    public var timestamp: Date

    public init(
        topic: String,
        partition: Int32,
        offset: Int64,
        key: [UInt8]?,
        value: [UInt8],
        headers: [EventHeader],
        timestamp: Date
    ) {
        self.topic = topic
        self.partition = partition
        self.offset = offset
        self.key = key
        self.value = value
        self.headers = headers
        self.timestamp = timestamp
    }

    /// The first header with this name, as text.
    public func header(_ name: String) -> String? {
        headers.first { $0.name == name }?.stringValue
    }
}

/// A topic to create.
public struct TopicSpec: Sendable, Hashable {
    public var name: String
    public var partitions: Int32

    public init(name: String, partitions: Int32) {
        self.name = name
        self.partitions = partitions
    }
}

/// A topic with the offsets of its partitions.
public struct TopicDescription: Sendable, Hashable {
    public struct Partition: Sendable, Hashable {
        public var id: Int32
        /// The first offset still held.
        public var startOffset: Int64
        /// The offset the next record will get.
        public var endOffset: Int64

        public init(id: Int32, startOffset: Int64, endOffset: Int64) {
            self.id = id
            self.startOffset = startOffset
            self.endOffset = endOffset
        }
    }

    public var name: String
    public var partitions: [Partition]

    public init(name: String, partitions: [Partition]) {
        self.name = name
        self.partitions = partitions
    }

    /// Records held: the sum over partitions of end minus start.
    public var recordCount: Int64 { partitions.reduce(0) { $0 + $1.endOffset - $1.startOffset } }
}

/// An error of the event log, with an extensible code.
public struct EventLogError: Error, Sendable, Hashable, CustomStringConvertible {
    /// What went wrong, in terms a caller can act on.
    public struct Code: RawRepresentable, Sendable, Hashable, CustomStringConvertible {
        public var rawValue: String
        public init(rawValue: String) { self.rawValue = rawValue }

        /// The local buffer is full: back off and retry (backpressure).
        public static let queueFull = Code(rawValue: "queue_full")
        /// The record is larger than the log accepts.
        public static let recordTooLarge = Code(rawValue: "record_too_large")
        /// The log refused the record as invalid.
        public static let invalidRecord = Code(rawValue: "invalid_record")
        /// The client is not authorised to write or read.
        public static let authorization = Code(rawValue: "authorization")
        /// The record was not confirmed durable within the delivery timeout.
        public static let timedOut = Code(rawValue: "timed_out")
        /// The log cannot be reached.
        public static let unavailable = Code(rawValue: "unavailable")
        /// The topic does not exist.
        public static let unknownTopic = Code(rawValue: "unknown_topic")
        /// The log is closed or shutting down.
        public static let closed = Code(rawValue: "closed")
        /// Another process writes this log (the embedded log has one writer).
        public static let locked = Code(rawValue: "locked")
        /// There is no log where the settings point (a read-only open never creates one).
        public static let notFound = Code(rawValue: "not_found")
        /// Anything else.
        public static let other = Code(rawValue: "other")

        public var description: String { rawValue }
    }

    public var code: Code
    public var message: String

    public init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }

    /// True when the record itself can never be written, so retrying is pointless and it belongs in the DLQ.
    public var isPermanentForRecord: Bool {
        code == .recordTooLarge || code == .invalidRecord || code == .authorization
    }

    /// The `dlq-error-class` for a record that failed with this error.
    public var deadLetterClass: String { code == .recordTooLarge ? "too-large" : "publish" }

    public var description: String { "\(code): \(message)" }
}

/// How a consumer starts reading partitions that have no committed offset for its group.
public struct ConsumerOptions: Sendable, Hashable {
    /// The consumer group; `nil` reads without a group and commits nothing.
    public var group: String?
    public var topics: [String]
    /// Read from the earliest offset, ignoring committed offsets.
    public var fromBeginning: Bool

    public init(group: String?, topics: [String], fromBeginning: Bool = false) {
        self.group = group
        self.topics = topics
        self.fromBeginning = fromBeginning
    }
}

/// The event log port: append records durably, read them as consumer groups.
///
/// Adapters: the embedded SQLite log (`MeridianEventLog`) and Kafka (`MeridianKafka`).
public protocol EventLog: Sendable {
    /// Appends records and returns, in order, where each landed once it is durable, or why it failed.
    func append(_ records: [EventRecord]) async -> [Result<RecordPosition, EventLogError>]
    /// Creates topics that do not exist yet; existing ones are left as they are.
    func createTopics(_ topics: [TopicSpec]) async throws
    /// Lists topics with the offsets of their partitions.
    func describeTopics() async throws -> [TopicDescription]
    /// Opens a consumer; the caller closes it.
    func makeConsumer(_ options: ConsumerOptions) async throws -> any EventLogConsumer
    /// True when the log can be reached now.
    func isReachable() async -> Bool
}

extension EventLog {
    /// Appends one record and returns where it landed once it is durable.
    public func append(_ record: EventRecord) async throws -> RecordPosition {
        try await append([record])[0].get()
    }
}

/// A consumer of the event log with at-least-once delivery: the caller commits after processing.
public protocol EventLogConsumer: Sendable {
    /// Waits up to `timeout` for records and returns up to `maxRecords` of them (possibly none).
    func poll(maxRecords: Int, timeout: Duration) async throws -> [ConsumedRecord]
    /// Stores the positions after these records for the group, so a restart resumes after them.
    func commit(_ records: [ConsumedRecord]) async throws
    /// Releases the consumer; stored offsets are committed first.
    func close() async
}

extension EventLogConsumer {
    /// The consumer's records as an async sequence of batches.
    ///
    /// At-least-once: the offsets of a batch are committed when the next batch is requested, that is
    /// after the loop body finished with it; a batch the body did not finish is delivered again after a
    /// restart. The sequence ends when the task is cancelled.
    public func batches(maxRecords: Int = 500) -> ConsumedBatches {
        ConsumedBatches(consumer: self, maxRecords: maxRecords)
    }
}

/// Batches of records from an ``EventLogConsumer``; see ``EventLogConsumer/batches(maxRecords:)``.
public struct ConsumedBatches: AsyncSequence, Sendable {
    public typealias Element = [ConsumedRecord]

    let consumer: any EventLogConsumer
    let maxRecords: Int

    public struct AsyncIterator: AsyncIteratorProtocol {
        let consumer: any EventLogConsumer
        let maxRecords: Int
        var uncommitted: [ConsumedRecord] = []

        public mutating func next() async throws -> [ConsumedRecord]? {
            if !uncommitted.isEmpty {
                try await consumer.commit(uncommitted)
                uncommitted = []
            }
            while !Task.isCancelled {
                let records = try await consumer.poll(maxRecords: maxRecords, timeout: .milliseconds(500))
                if !records.isEmpty {
                    uncommitted = records
                    return records
                }
            }
            return nil
        }
    }

    public func makeAsyncIterator() -> AsyncIterator {
        AsyncIterator(consumer: consumer, maxRecords: maxRecords)
    }
}
