import Foundation
import Logging
import MeridianCore
import NIOCore
import SQLiteNIO
import ServiceLifecycle
import Synchronization

/// The embedded event log: a durable, append-only log in one SQLite database (WAL mode).
///
/// One writer task takes every pending append and offset commit and writes them in a single
/// transaction (group commit), so many concurrent appends share one fsync. An append returns only
/// after its transaction committed. Consumers are woken by the writer instead of polling.
///
/// Embedded mode runs in one process: a consumer group's single member reads every partition.
public final class EmbeddedEventLog: EventLog, Service {
    /// Settings of the embedded log.
    public struct Configuration: Sendable {
        /// The SQLite database file.
        public var path: String
        /// Partitions of a topic created without an explicit count. Default 4.
        public var defaultPartitions: Int32 = 4
        /// `FULL` (durable across power loss, the default) or `NORMAL` (durable across process crashes).
        public var synchronous: String = "FULL"
        /// Most operations written in one transaction. Default 4096.
        public var maxGroupCommit: Int = 4096

        public init(path: String) {
            self.path = path
        }
    }

    private enum Operation {
        case append([EventRecord], CheckedContinuation<[Result<RecordPosition, EventLogError>], Never>)
        case commit(group: String, offsets: [PartitionKey: Int64], CheckedContinuation<Void, any Error>)
        case createTopics([TopicSpec], CheckedContinuation<Void, any Error>)
    }

    struct PartitionKey: Hashable, Sendable {
        var topic: String
        var partition: Int32
    }

    private struct WriterState {
        var pending: [Operation] = []
        var writerWaiting: CheckedContinuation<Void, Never>?
        var closed = false
    }

    /// Topics and the next offset of each partition; written only by the writer.
    struct Catalog: Sendable {
        var partitions: [String: Int32] = [:]
        var nextOffsets: [PartitionKey: Int64] = [:]
        var roundRobin: UInt64 = 0
    }

    public let configuration: Configuration
    private let writeConnection: SQLiteConnection
    private let readConnection: SQLiteConnection
    private let logger: Logger
    private let writerState = Mutex(WriterState())
    private let catalog: Mutex<Catalog>
    let changes = ChangeSignal()
    private let writerTask = Mutex<Task<Void, Never>?>(nil)
    /// The writer's lock on the log (nil when opened read-only).
    private let lock: DataLock?
    /// Opened with ``openReadOnly(configuration:logger:)``: no writer, the catalog is read again before each use.
    public var isReadOnly: Bool { lock == nil }
    private let isClosed = Atomic<Bool>(false)

    private init(
        configuration: Configuration,
        writeConnection: SQLiteConnection,
        readConnection: SQLiteConnection,
        catalog: Catalog,
        lock: DataLock?,
        logger: Logger
    ) {
        self.configuration = configuration
        self.writeConnection = writeConnection
        self.readConnection = readConnection
        self.catalog = Mutex(catalog)
        self.lock = lock
        self.logger = logger
    }

    /// The lock file beside the log's database.
    static func lockPath(_ configuration: Configuration) -> String { configuration.path + ".lock" }

    /// Opens (creating if needed) the log at `configuration.path`. Its writer starts with ``run()``: appends
    /// wait until then. Fails with `EventLogError(.locked)` when another process writes the same log.
    public static func open(configuration: Configuration, logger: Logger) async throws -> EmbeddedEventLog {
        let directory = (configuration.path as NSString).deletingLastPathComponent
        if !directory.isEmpty {
            do {
                try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
            } catch {
                throw EventLogError(.unavailable, "cannot create the directory \(directory): \(Self.reason(error))")
            }
        }
        let synchronous = configuration.synchronous.uppercased()
        guard ["FULL", "NORMAL", "EXTRA"].contains(synchronous) else {
            throw EventLogError(.other, "synchronous must be FULL, NORMAL or EXTRA, not \(configuration.synchronous)")
        }
        let lock = try DataLock.acquire(path: lockPath(configuration))
        let writer: SQLiteConnection
        do {
            writer = try await SQLiteConnection.open(storage: .file(path: configuration.path), logger: logger)
        } catch {
            lock.release()
            throw EventLogError(.unavailable, "cannot open \(configuration.path): \(error)")
        }
        do {
            _ = try await writer.query("PRAGMA journal_mode=WAL")
            _ = try await writer.query("PRAGMA synchronous=\(synchronous)")
            _ = try await writer.query(
                """
                CREATE TABLE IF NOT EXISTS topics (
                    name TEXT PRIMARY KEY, partitions INTEGER NOT NULL) WITHOUT ROWID
                """)
            _ = try await writer.query(
                """
                CREATE TABLE IF NOT EXISTS records (
                    topic TEXT NOT NULL, partition INTEGER NOT NULL, offset INTEGER NOT NULL,
                    key BLOB, value BLOB NOT NULL, headers BLOB NOT NULL, timestamp_ms INTEGER NOT NULL,
                    PRIMARY KEY (topic, partition, offset)) WITHOUT ROWID
                """)
            _ = try await writer.query(
                """
                CREATE TABLE IF NOT EXISTS group_offsets (
                    consumer_group TEXT NOT NULL, topic TEXT NOT NULL, partition INTEGER NOT NULL,
                    next_offset INTEGER NOT NULL,
                    PRIMARY KEY (consumer_group, topic, partition)) WITHOUT ROWID
                """)
            let catalog = try await Self.readCatalog(writer)
            let reader = try await SQLiteConnection.open(storage: .file(path: configuration.path), logger: logger)
            let log = EmbeddedEventLog(
                configuration: configuration,
                writeConnection: writer,
                readConnection: reader,
                catalog: catalog,
                lock: lock,
                logger: logger
            )
            logger.info(
                "embedded event log open",
                metadata: ["path": .string(configuration.path), "topics": .stringConvertible(catalog.partitions.count)])
            return log
        } catch {
            try? await writer.close()
            lock.release()
            throw error
        }
    }

    /// Opens an existing log to read it beside the process that writes it: never creates a file, takes no
    /// lock, starts no writer; appends fail. Fails with `EventLogError(.notFound)` when there is no log.
    public static func openReadOnly(configuration: Configuration, logger: Logger) async throws -> EmbeddedEventLog {
        guard FileManager.default.fileExists(atPath: configuration.path) else {
            throw EventLogError(.notFound, "there is no event log at \(configuration.path)")
        }
        let uri =
            "file:" + (configuration.path.addingPercentEncoding(withAllowedCharacters: .urlPathAllowed) ?? "")
            + "?mode=ro"
        let connection = try await SQLiteConnection.open(storage: .file(path: uri), logger: logger)
        do {
            _ = try await connection.query("PRAGMA busy_timeout=5000")
            let catalog = try await Self.readCatalog(connection)
            return EmbeddedEventLog(
                configuration: configuration, writeConnection: connection, readConnection: connection, catalog: catalog,
                lock: nil, logger: logger)
        } catch {
            try? await connection.close()
            throw EventLogError(.notFound, "\(configuration.path) is not an event log: \(error)")
        }
    }

    /// Topics and the next offset of each partition, as stored.
    private static func readCatalog(_ connection: SQLiteConnection) async throws -> Catalog {
        var catalog = Catalog()
        for row in try await connection.query("SELECT name, partitions FROM topics") {
            guard let name = row.column("name")?.string, let count = row.column("partitions")?.integer else { continue }
            catalog.partitions[name] = Int32(count)
            for partition in 0..<Int32(count) {
                catalog.nextOffsets[PartitionKey(topic: name, partition: partition)] = 0
            }
        }
        for row in try await connection.query(
            "SELECT topic, partition, MAX(offset) AS last FROM records GROUP BY topic, partition")
        {
            guard let topic = row.column("topic")?.string, let partition = row.column("partition")?.integer,
                let last = row.column("last")?.integer
            else { continue }
            catalog.nextOffsets[PartitionKey(topic: topic, partition: Int32(partition))] = Int64(last) + 1
        }
        return catalog
    }

    /// Read-only: reads the catalog again, to see what the writing process appended since.
    func refreshIfReadOnly() async throws {
        guard isReadOnly, !isClosed.load(ordering: .relaxed) else { return }
        let fresh = try await Self.readCatalog(readConnection)
        catalog.withLock { $0 = fresh }
    }

    private static func reason(_ error: any Error) -> String {
        if let error = error as? CocoaError, let underlying = error.userInfo[NSUnderlyingErrorKey] as? POSIXError {
            return String(cString: strerror(underlying.code.rawValue))
        }
        return "\(error)"
    }

    // MARK: Service

    /// Starts the writer and runs until graceful shutdown (or cancellation, or ``close()``), then finishes
    /// pending writes and closes the database. Outside a service group: `Task { try await log.run() }`, and
    /// ``close()`` to end it.
    public func run() async throws {
        startWriter()
        let closing = self.closing
        await cancelWhenGracefulShutdown {
            while !self.isClosed.load(ordering: .acquiring) && !Task.isCancelled {
                let seen = closing.version
                if self.isClosed.load(ordering: .acquiring) { break }
                await closing.wait(after: seen, timeout: .seconds(3600))
            }
        }
        await close()
    }

    /// Starts the writer task, once. It is not a child of `run()`: cancelling `run()` must not cut a
    /// transaction short (NIO's thread pool drops a cancelled task's work).
    private func startWriter() {
        writerTask.withLock { task in
            guard task == nil, !isClosed.load(ordering: .acquiring) else { return }
            task = Task { await self.writeLoop() }
        }
    }

    /// Fired once by ``close()``, so that ``run()`` returns.
    private let closing = ChangeSignal()

    /// Finishes pending writes, then closes the database and releases the lock, once (later calls return at
    /// once). Appends after this fail with `closed`, and so do appends still waiting for a writer that never ran.
    public func close() async {
        guard !isClosed.exchange(true, ordering: .acquiringAndReleasing) else { return }
        closing.signal()
        let waiting = writerState.withLock { state -> CheckedContinuation<Void, Never>? in
            state.closed = true
            defer { state.writerWaiting = nil }
            return state.writerWaiting
        }
        waiting?.resume()
        // The writer finishes what is queued; if it never started (no `run()`), nobody else will answer that.
        await writerTask.withLock({ $0 })?.value
        for operation in writerState.withLock({ state -> [Operation] in
            defer { state.pending = [] }
            return state.pending
        }) {
            switch operation {
            case .append(let records, let continuation):
                continuation.resume(returning: records.map { _ in .failure(EventLogError(.closed, "event log closed")) })
            case .commit(_, _, let continuation), .createTopics(_, let continuation):
                continuation.resume(throwing: EventLogError(.closed, "event log closed"))
            }
        }
        let readConnection = self.readConnection
        let writeConnection = self.writeConnection
        // Closing must happen even from a cancelled task (NIO's thread pool skips a cancelled task's work).
        try? await uncancelled {
            try? await readConnection.close()
            if writeConnection !== readConnection { try? await writeConnection.close() }
        }
        lock?.release()
        changes.signal()
    }

    // MARK: EventLog

    public func append(_ records: [EventRecord]) async -> [Result<RecordPosition, EventLogError>] {
        guard !records.isEmpty else { return [] }
        guard !isReadOnly else { return records.map { _ in .failure(Self.readOnlyError) } }
        return await withCheckedContinuation { continuation in
            if let rejected = enqueue(.append(records, continuation)) {
                if case .append(let records, let continuation) = rejected {
                    continuation.resume(returning: records.map { _ in .failure(EventLogError(.closed, "event log closed")) })
                }
            }
        }
    }

    static let readOnlyError = EventLogError(.closed, "the event log is open read-only")

    public func createTopics(_ topics: [TopicSpec]) async throws {
        guard !isReadOnly else { throw Self.readOnlyError }
        try await withCheckedThrowingContinuation { continuation in
            if enqueue(.createTopics(topics, continuation)) != nil {
                continuation.resume(throwing: EventLogError(.closed, "event log closed"))
            }
        }
    }

    /// Stores the next offsets of a consumer group.
    func commit(group: String, offsets: [PartitionKey: Int64]) async throws {
        guard !offsets.isEmpty else { return }
        guard !isReadOnly else { throw Self.readOnlyError }
        try await withCheckedThrowingContinuation { continuation in
            if enqueue(.commit(group: group, offsets: offsets, continuation)) != nil {
                continuation.resume(throwing: EventLogError(.closed, "event log closed"))
            }
        }
    }

    public func describeTopics() async throws -> [TopicDescription] {
        try await refreshIfReadOnly()
        return catalog.withLock { catalog in
            catalog.partitions.keys.sorted().map { name in
                let count = catalog.partitions[name] ?? 0
                return TopicDescription(
                    name: name,
                    partitions: (0..<count).map { partition in
                        TopicDescription.Partition(
                            id: partition,
                            startOffset: 0,
                            endOffset: catalog.nextOffsets[PartitionKey(topic: name, partition: partition)] ?? 0)
                    })
            }
        }
    }

    /// A consumer group's backlog on one topic.
    public struct ConsumerLag: Sendable, Hashable {
        public var group: String
        public var topic: String
        /// Records the group has yet to read: the topic's end offsets minus the group's committed positions.
        public var records: Int64
    }

    /// The backlog of every group that committed on a topic (what Kafka reports as consumer lag): a partition the
    /// group never committed counts from the log's start.
    public func consumerLag() async throws -> [ConsumerLag] {
        var committed: [String: [PartitionKey: Int64]] = [:]
        for row in try await readConnection.query("SELECT consumer_group, topic, partition, next_offset FROM group_offsets") {
            guard let group = row.column("consumer_group")?.string, let topic = row.column("topic")?.string,
                let partition = row.column("partition")?.integer, let next = row.column("next_offset")?.integer
            else { continue }
            committed[group, default: [:]][PartitionKey(topic: topic, partition: Int32(partition))] = Int64(next)
        }
        let ends = catalog.withLock { $0 }
        var lags: [ConsumerLag] = []
        for (group, positions) in committed.sorted(by: { $0.key < $1.key }) {
            for topic in Set(positions.keys.map(\.topic)).sorted() {
                var records: Int64 = 0
                for partition in 0..<(ends.partitions[topic] ?? 0) {
                    let key = PartitionKey(topic: topic, partition: partition)
                    records += max(0, (ends.nextOffsets[key] ?? 0) - (positions[key] ?? 0))
                }
                lags.append(ConsumerLag(group: group, topic: topic, records: records))
            }
        }
        return lags
    }

    public func makeConsumer(_ options: ConsumerOptions) async throws -> any EventLogConsumer {
        var committed: [PartitionKey: Int64] = [:]
        if let group = options.group, !options.fromBeginning {
            for row in try await readConnection.query(
                "SELECT topic, partition, next_offset FROM group_offsets WHERE consumer_group = ?", [.text(group)])
            {
                guard let topic = row.column("topic")?.string, let partition = row.column("partition")?.integer,
                    let next = row.column("next_offset")?.integer
                else { continue }
                committed[PartitionKey(topic: topic, partition: Int32(partition))] = Int64(next)
            }
        }
        return EmbeddedConsumer(log: self, options: options, committed: committed)
    }

    public func isReachable() async -> Bool {
        guard !writerState.withLock({ $0.closed }) else { return false }
        return (try? await readConnection.query("SELECT 1")) != nil
    }

    /// Partitions of a topic and their next offsets, as the writer last committed them.
    func partitions(of topic: String) -> [PartitionKey: Int64] {
        catalog.withLock { catalog in
            let count = catalog.partitions[topic] ?? 0
            var result: [PartitionKey: Int64] = [:]
            for partition in 0..<count {
                let key = PartitionKey(topic: topic, partition: partition)
                result[key] = catalog.nextOffsets[key] ?? 0
            }
            return result
        }
    }

    /// Reads up to `limit` records of one partition from `offset` on.
    func read(_ partition: PartitionKey, from offset: Int64, limit: Int) async throws -> [ConsumedRecord] {
        try await readConnection.query(
            """
            SELECT offset, key, value, headers, timestamp_ms FROM records
            WHERE topic = ? AND partition = ? AND offset >= ? ORDER BY offset LIMIT ?
            """,
            [.text(partition.topic), .integer(Int(partition.partition)), .integer(Int(offset)), .integer(limit)]
        ).map { row in
            ConsumedRecord(
                topic: partition.topic,
                partition: partition.partition,
                offset: Int64(row.column("offset")?.integer ?? 0),
                key: row.column("key")?.blob.map { Array($0.readableBytesView) },
                value: row.column("value")?.blob.map { Array($0.readableBytesView) } ?? [],
                headers: HeaderCoding.decode(row.column("headers")?.blob.map { Array($0.readableBytesView) } ?? []),
                timestamp: Date(timeIntervalSince1970: Double(row.column("timestamp_ms")?.integer ?? 0) / 1000)
            )
        }
    }

    // MARK: Writer

    /// Queues an operation for the writer; returns it back when the log is closed.
    private func enqueue(_ operation: Operation) -> Operation? {
        let (rejected, wake) = writerState.withLock { state -> (Operation?, CheckedContinuation<Void, Never>?) in
            if state.closed { return (operation, nil) }
            state.pending.append(operation)
            defer { state.writerWaiting = nil }
            return (nil, state.writerWaiting)
        }
        wake?.resume()
        return rejected
    }

    private func nextOperations() async -> [Operation]? {
        while true {
            let taken = writerState.withLock { state -> [Operation]? in
                guard !state.pending.isEmpty else { return state.closed ? nil : [] }
                let count = min(state.pending.count, configuration.maxGroupCommit)
                let taken = Array(state.pending.prefix(count))
                state.pending.removeFirst(count)
                return taken
            }
            guard let taken else { return nil }
            if !taken.isEmpty { return taken }
            await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
                let resumeNow = writerState.withLock { state -> Bool in
                    if !state.pending.isEmpty || state.closed { return true }
                    state.writerWaiting = continuation
                    return false
                }
                if resumeNow { continuation.resume() }
            }
        }
    }

    private func writeLoop() async {
        while let operations = await nextOperations() {
            await write(operations)
        }
    }

    private struct Row {
        var partition: PartitionKey
        var offset: Int64
        var record: EventRecord
    }

    private func write(_ operations: [Operation]) async {
        let before = catalog.withLock { $0 }
        var working = before
        var rows: [Row] = []
        var newTopics: [String: Int32] = [:]
        var positions: [[RecordPosition]] = []
        var offsetCommits: [(group: String, key: PartitionKey, next: Int64)] = []
        let now = Int(Date().timeIntervalSince1970 * 1000)

        func ensureTopic(_ name: String, partitions: Int32) {
            guard working.partitions[name] == nil else { return }
            working.partitions[name] = partitions
            newTopics[name] = partitions
            for partition in 0..<partitions {
                working.nextOffsets[PartitionKey(topic: name, partition: partition)] = 0
            }
        }

        for operation in operations {
            switch operation {
            case .append(let records, _):
                var landed: [RecordPosition] = []
                for record in records {
                    ensureTopic(record.topic, partitions: configuration.defaultPartitions)
                    let count = working.partitions[record.topic] ?? 1
                    let partition: Int32
                    if let key = record.key {
                        partition = KeyPartitioner.partition(for: key, partitions: count)
                    } else {
                        working.roundRobin &+= 1
                        partition = Int32(working.roundRobin % UInt64(count))
                    }
                    let key = PartitionKey(topic: record.topic, partition: partition)
                    let offset = working.nextOffsets[key] ?? 0
                    working.nextOffsets[key] = offset + 1
                    rows.append(Row(partition: key, offset: offset, record: record))
                    landed.append(RecordPosition(topic: record.topic, partition: partition, offset: offset))
                }
                positions.append(landed)
            case .commit(let group, let offsets, _):
                for (key, next) in offsets { offsetCommits.append((group, key, next)) }
            case .createTopics(let specs, _):
                for spec in specs { ensureTopic(spec.name, partitions: max(spec.partitions, 1)) }
            }
        }

        do {
            _ = try await writeConnection.query("BEGIN IMMEDIATE")
            do {
                for (name, partitions) in newTopics {
                    _ = try await writeConnection.query(
                        "INSERT OR IGNORE INTO topics (name, partitions) VALUES (?, ?)",
                        [.text(name), .integer(Int(partitions))])
                }
                var start = 0
                while start < rows.count {
                    let chunk = rows[start..<min(start + 500, rows.count)]
                    var binds: [SQLiteData] = []
                    binds.reserveCapacity(chunk.count * 7)
                    for row in chunk {
                        binds.append(.text(row.partition.topic))
                        binds.append(.integer(Int(row.partition.partition)))
                        binds.append(.integer(Int(row.offset)))
                        binds.append(row.record.key.map { .blob(ByteBuffer(bytes: $0)) } ?? .null)
                        binds.append(.blob(ByteBuffer(bytes: row.record.value)))
                        binds.append(.blob(ByteBuffer(bytes: HeaderCoding.encode(row.record.headers))))
                        binds.append(.integer(now))
                    }
                    let placeholders = Array(repeating: "(?, ?, ?, ?, ?, ?, ?)", count: chunk.count).joined(separator: ", ")
                    _ = try await writeConnection.query(
                        "INSERT INTO records (topic, partition, offset, key, value, headers, timestamp_ms) VALUES "
                            + placeholders,
                        binds)
                    start += chunk.count
                }
                for commit in offsetCommits {
                    _ = try await writeConnection.query(
                        """
                        INSERT INTO group_offsets (consumer_group, topic, partition, next_offset) VALUES (?, ?, ?, ?)
                        ON CONFLICT (consumer_group, topic, partition) DO UPDATE SET next_offset = excluded.next_offset
                        """,
                        [
                            .text(commit.group), .text(commit.key.topic), .integer(Int(commit.key.partition)),
                            .integer(Int(commit.next)),
                        ])
                }
                _ = try await writeConnection.query("COMMIT")
            } catch {
                _ = try? await writeConnection.query("ROLLBACK")
                throw error
            }
        } catch {
            logger.error("embedded event log write failed", metadata: ["error": "\(error)"])
            let failure = EventLogError(.unavailable, "embedded log write failed: \(error)")
            for operation in operations {
                switch operation {
                case .append(let records, let continuation):
                    continuation.resume(returning: records.map { _ in .failure(failure) })
                case .commit(_, _, let continuation), .createTopics(_, let continuation):
                    continuation.resume(throwing: failure)
                }
            }
            return
        }

        catalog.withLock { $0 = working }
        var index = 0
        for operation in operations {
            switch operation {
            case .append(_, let continuation):
                continuation.resume(returning: positions[index].map { .success($0) })
                index += 1
            case .commit(_, _, let continuation), .createTopics(_, let continuation):
                continuation.resume()
            }
        }
        if !rows.isEmpty || !newTopics.isEmpty { changes.signal() }
    }
}

/// A consumer of the embedded log. It reads every partition of its topics.
final class EmbeddedConsumer: EventLogConsumer {
    private let log: EmbeddedEventLog
    private let options: ConsumerOptions
    /// The next offset to read, per partition.
    private let positions: Mutex<[EmbeddedEventLog.PartitionKey: Int64]>
    private let closed = Atomic<Bool>(false)

    init(log: EmbeddedEventLog, options: ConsumerOptions, committed: [EmbeddedEventLog.PartitionKey: Int64]) {
        self.log = log
        self.options = options
        self.positions = Mutex(committed)
    }

    func poll(maxRecords: Int, timeout: Duration) async throws -> [ConsumedRecord] {
        let deadline = ContinuousClock.now.advanced(by: timeout)
        while !closed.load(ordering: .relaxed) {
            try Task.checkCancellation()
            let seen = log.changes.version
            try await log.refreshIfReadOnly()
            var readable: [(EmbeddedEventLog.PartitionKey, Int64)] = []
            for topic in options.topics {
                let ends = log.partitions(of: topic)
                positions.withLock { positions in
                    for (key, end) in ends {
                        let position = positions[key] ?? 0
                        if positions[key] == nil { positions[key] = 0 }
                        if position < end { readable.append((key, position)) }
                    }
                }
            }
            var records: [ConsumedRecord] = []
            for (key, position) in readable.sorted(by: { ($0.0.topic, $0.0.partition) < ($1.0.topic, $1.0.partition) }) {
                guard records.count < maxRecords else { break }
                let batch = try await log.read(key, from: position, limit: maxRecords - records.count)
                if let last = batch.last {
                    positions.withLock { $0[key] = last.offset + 1 }
                }
                records += batch
            }
            if !records.isEmpty { return records }
            let now = ContinuousClock.now
            if now >= deadline { return [] }
            // A read-only log is written by another process: nothing here signals its appends, so look again soon.
            let wait = log.isReadOnly ? min(now.duration(to: deadline), .milliseconds(200)) : now.duration(to: deadline)
            await log.changes.wait(after: seen, timeout: wait)
        }
        return []
    }

    func commit(_ records: [ConsumedRecord]) async throws {
        guard let group = options.group else { return }
        var offsets: [EmbeddedEventLog.PartitionKey: Int64] = [:]
        for record in records {
            let key = EmbeddedEventLog.PartitionKey(topic: record.topic, partition: record.partition)
            offsets[key] = max(offsets[key] ?? 0, record.offset + 1)
        }
        try await log.commit(group: group, offsets: offsets)
    }

    func close() async {
        closed.store(true, ordering: .relaxed)
    }
}
