import Foundation
import MeridianCore
import MeridianStorage
import SQLKit

/// The same-run denominator of the order benchmark: how many small transactions per second the store itself
/// commits, with `writers` concurrent writers each inserting one outbox-sized row per transaction (on SQLite
/// these are group-committed, as the services' are). Confirmed orders per second divided by it compares across
/// machines and days, where the raw figure does not.
public struct StoreFloor: Sendable {
    let store: any SQLStore
    let writers: Int
    let duration: Duration

    public init(store: any SQLStore, writers: Int = 32, duration: Duration = .seconds(5)) {
        self.store = store
        self.writers = writers
        self.duration = duration
    }

    /// Transactions committed per second; the scratch table `bench_floor` is dropped afterwards.
    public func run() async throws -> Double {
        try await store.withTransaction { database in
            try await database.raw("DROP TABLE IF EXISTS bench_floor").run()
            try await database.raw(
                "CREATE TABLE bench_floor (writer INTEGER NOT NULL, n INTEGER NOT NULL, payload TEXT NOT NULL)"
            )
            .run()
        }
        let payload = String(repeating: "x", count: 200)
        let start = ContinuousClock.now
        let deadline = start.advanced(by: duration)
        let committed = try await withThrowingTaskGroup(of: Int.self) { group in
            for writer in 0..<writers {
                group.addTask {
                    var count = 0
                    while ContinuousClock.now < deadline {
                        let n = count
                        try await store.withTransaction { database in
                            try await database.raw(
                                "INSERT INTO bench_floor (writer, n, payload) VALUES (\(bind: writer), \(bind: n), \(bind: payload))"
                            ).run()
                        }
                        count += 1
                    }
                    return count
                }
            }
            return try await group.reduce(0, +)
        }
        let seconds = start.duration(to: .now).timeInterval
        try await store.withTransaction { database in try await database.raw("DROP TABLE bench_floor").run() }
        return Double(committed) / seconds
    }
}
