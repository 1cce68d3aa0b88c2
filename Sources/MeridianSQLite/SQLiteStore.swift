import Foundation
import Logging
import MeridianCore
import MeridianStorage
import NIOCore
import NIOPosix
import SQLKit
import ServiceLifecycle
import Synchronization

/// The embedded store: one SQLite database file in WAL mode. Transactions run one at a time on the writer
/// connection; reads (`withDatabase`) run on reader connections in parallel with them (WAL lets readers
/// see the last commit without waiting for the writer).
///
/// A transaction's statements run in place, under the writer lock, on prepared statements (``SQLiteHandle``):
/// they take microseconds, so hopping threads for each would cost more than the statement. What waits for the
/// disk or for another process (`BEGIN IMMEDIATE`, `COMMIT`) runs on the writer's own thread, and reads, which
/// may scan, on the readers' threads, so neither blocks the concurrency pool.
public final class SQLiteStore: SQLStoreAdapter {
    public let dialectName = "sqlite"
    public let commits = CommitSignals()
    private let writer: SQLiteHandle
    private let database: any SQLDatabase
    private let lock = AsyncLock()
    private let readers: [(handle: SQLiteHandle, database: any SQLDatabase, lock: AsyncLock)]
    private let nextReader = Atomic<Int>(0)
    private let writerThread: NIOThreadPool
    private let readerThreads: NIOThreadPool

    private init(
        writer: SQLiteHandle, writerThread: NIOThreadPool, readers: [SQLiteHandle], readerThreads: NIOThreadPool,
        logger: Logger
    ) {
        let eventLoop = MultiThreadedEventLoopGroup.singleton.any()
        self.writer = writer
        self.writerThread = writerThread
        self.readerThreads = readerThreads
        self.database = SQLiteSQLDatabase(handle: writer, logger: logger, eventLoop: eventLoop) { work in try work() }
        self.readers = readers.map { reader in
            let database = SQLiteSQLDatabase(handle: reader, logger: logger, eventLoop: eventLoop) { work in
                try await readerThreads.runIfActive(work)
            }
            return (reader, database, AsyncLock())
        }
    }

    /// Opens (creating if needed) the database at `path`.
    ///
    /// - Parameter synchronous: SQLite's `synchronous` pragma: `FULL` (the default) makes every commit
    ///   durable against power loss; `NORMAL` (in WAL mode) against a crash of the process only, for fewer fsyncs.
    /// - Parameter readerCount: connections for reads beside the writer.
    public static func open(path: String, synchronous: String = "FULL", readerCount: Int = 2, logger: Logger) async throws
        -> SQLiteStore
    {
        precondition(readerCount >= 1, "reads run on reader connections")
        guard ["FULL", "NORMAL", "EXTRA"].contains(synchronous.uppercased()) else {
            throw SQLiteStoreError.invalidSynchronous(synchronous)
        }
        let directory = (path as NSString).deletingLastPathComponent
        if !directory.isEmpty {
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        }
        let writerThread = NIOThreadPool(numberOfThreads: 1)
        writerThread.start()
        let readerThreads = NIOThreadPool(numberOfThreads: readerCount)
        readerThreads.start()
        do {
            let mode = synchronous.uppercased()
            let (writer, readers) = try await writerThread.runIfActive { () -> (SQLiteHandle, [SQLiteHandle]) in
                let writer = try SQLiteHandle(path: path, create: true)
                for pragma in ["journal_mode=WAL", "synchronous=\(mode)", "foreign_keys=ON", "busy_timeout=5000"] {
                    _ = try writer.execute("PRAGMA \(pragma)", [])
                }
                let readers = try (0..<readerCount).map { _ in
                    let reader = try SQLiteHandle(path: path, create: false)
                    _ = try reader.execute("PRAGMA busy_timeout=5000", [])
                    _ = try reader.execute("PRAGMA query_only=ON", [])
                    return reader
                }
                return (writer, readers)
            }
            return SQLiteStore(
                writer: writer, writerThread: writerThread, readers: readers, readerThreads: readerThreads, logger: logger)
        } catch {
            try? await writerThread.shutdownGracefully()
            try? await readerThreads.shutdownGracefully()
            throw error
        }
    }

    /// Runs `body` as its own transaction, committed together with the transactions queued behind it
    /// (group commit): the caller holding the connection opens `BEGIN IMMEDIATE` when no group is open, runs
    /// its body inside a savepoint (rolled back alone when the body throws), and then either hands the
    /// connection to the next caller and waits for the group's `COMMIT`, or, when nobody waits or the group
    /// is full, commits for everyone. One fsync then covers many transactions; each still sees the ones before
    /// it. Written by hand: SQLite has no group commit of its own (the embedded event log does the same).
    public func withTransaction<Result: Sendable>(
        _ body: @Sendable (any SQLDatabase) async throws -> Result
    ) async throws -> Result {
        try await commits.afterCommit {
            await lock.acquire()
            let group: CommitGroup
            do {
                group = try await currentGroup()
            } catch {
                lock.release()
                throw error
            }
            var outcome: Swift.Result<Result, any Error>
            do {
                try control("SAVEPOINT meridian_tx")
                do {
                    let value = try await body(database)
                    try control("RELEASE meridian_tx")
                    outcome = .success(value)
                } catch {
                    do {
                        try control("ROLLBACK TO meridian_tx")
                        try control("RELEASE meridian_tx")
                    } catch {
                        group.broken = true
                    }
                    outcome = .failure(error)
                }
            } catch {
                group.broken = true
                outcome = .failure(error)
            }
            group.members += 1
            if !group.broken && lock.hasWaiters && group.members < Self.maxGroupSize {
                // The next caller joins this group; this one returns once the group committed.
                lock.release()
                if let failure = await group.committed() { throw failure }
                return try outcome.get()
            }
            let failure = await commit(group)
            lock.release()
            if let failure { throw failure }
            return try outcome.get()
        }
    }

    /// Transactions committed together at most.
    static let maxGroupSize = 64

    /// An open SQLite transaction shared by the transactions of one group. Only touched by the holder of
    /// the writer lock, except for the waiters list.
    final class CommitGroup: @unchecked Sendable {
        var members = 0
        var broken = false
        private let waiters = Mutex<
            (done: Bool, failure: (any Error)?, continuations: [CheckedContinuation<(any Error)?, Never>])
        >(
            (false, nil, []))

        /// Waits until the group committed; returns the commit's error, if any.
        func committed() async -> (any Error)? {
            await withCheckedContinuation { continuation in
                let done = waiters.withLock { state -> (any Error)?? in
                    if state.done { return .some(state.failure) }
                    state.continuations.append(continuation)
                    return nil
                }
                if let done { continuation.resume(returning: done) }
            }
        }

        func finish(_ failure: (any Error)?) {
            let continuations = waiters.withLock { state in
                state.done = true
                state.failure = failure
                defer { state.continuations = [] }
                return state.continuations
            }
            for continuation in continuations { continuation.resume(returning: failure) }
        }
    }

    private let openGroup = Mutex<CommitGroup?>(nil)

    /// The open group, or a new one after `BEGIN IMMEDIATE` (called with the writer lock held).
    private func currentGroup() async throws -> CommitGroup {
        if let group = openGroup.withLock({ $0 }) { return group }
        try await transactionControl("BEGIN IMMEDIATE")
        let group = CommitGroup()
        openGroup.withLock { $0 = group }
        return group
    }

    /// Runs a savepoint statement in place (writer lock held): it cannot be interrupted, so a cancelled caller
    /// never leaves the shared connection inside a savepoint nobody owns.
    private func control(_ statement: String) throws {
        _ = try writer.execute(statement, [])
    }

    /// Runs `BEGIN IMMEDIATE`, `COMMIT` or `ROLLBACK` on the writer's thread (they may wait for the disk or for
    /// another process), even when the calling task is cancelled.
    private func transactionControl(_ statement: String) async throws {
        let writer = self.writer
        let thread = writerThread
        try await uncancelled { _ = try await thread.runIfActive { try writer.execute(statement, []) } }
    }

    /// Commits (or, when broken, rolls back) the group and wakes its waiting members (writer lock held).
    private func commit(_ group: CommitGroup) async -> (any Error)? {
        openGroup.withLock { $0 = nil }
        var failure: (any Error)?
        if group.broken {
            failure = StoreError("a transaction of the same commit group failed to roll back; retry")
            try? await transactionControl("ROLLBACK")
        } else {
            do {
                try await transactionControl("COMMIT")
            } catch {
                failure = error
                try? await transactionControl("ROLLBACK")
            }
        }
        group.finish(failure)
        return failure
    }

    public func withDatabase<Result: Sendable>(
        _ body: @Sendable (any SQLDatabase) async throws -> Result
    ) async throws -> Result {
        let reader = readers[nextReader.add(1, ordering: .relaxed).oldValue % readers.count]
        return try await reader.lock.withLock { try await body(reader.database) }
    }

    public func run() async throws {
        try? await gracefulShutdown()
        try await close()
    }

    /// Closes the connections, once (later calls return at once), even from a cancelled task.
    public func close() async throws {
        guard !closed.exchange(true, ordering: .acquiringAndReleasing) else { return }
        let handles = [writer] + readers.map(\.handle)
        let writerThread = self.writerThread
        let readerThreads = self.readerThreads
        // The locks make sure no statement is running on a connection being closed.
        await lock.acquire()
        // A group handed over to this call: commit it for its members, who wait for that.
        if let group = openGroup.withLock({ $0 }) { _ = await commit(group) }
        for reader in readers { await reader.lock.acquire() }
        try await uncancelled {
            try? await writerThread.runIfActive { for handle in handles { handle.close() } }
            try? await writerThread.shutdownGracefully()
            try? await readerThreads.shutdownGracefully()
        }
    }

    private let closed = Atomic<Bool>(false)
}

public enum SQLiteStoreError: Error {
    case invalidSynchronous(String)
}

/// A lock for async code: one holder at a time, waiters resumed in order.
///
/// Written by hand: the standard library's `Mutex` must not be held across `await`, and SQLite's single
/// connection must run one transaction at a time.
final class AsyncLock: Sendable {
    private struct State {
        var locked = false
        var waiters: [CheckedContinuation<Void, Never>] = []
    }

    private let state = Mutex(State())

    func withLock<Result: Sendable>(_ body: () async throws -> Result) async throws -> Result {
        await acquire()
        defer { release() }
        return try await body()
    }

    /// True when someone waits for the lock.
    var hasWaiters: Bool { state.withLock { !$0.waiters.isEmpty } }

    func acquire() async {
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            let acquired = state.withLock { state -> Bool in
                if state.locked {
                    state.waiters.append(continuation)
                    return false
                }
                state.locked = true
                return true
            }
            if acquired { continuation.resume() }
        }
    }

    func release() {
        let next = state.withLock { state -> CheckedContinuation<Void, Never>? in
            if state.waiters.isEmpty {
                state.locked = false
                return nil
            }
            return state.waiters.removeFirst()
        }
        next?.resume()
    }
}
