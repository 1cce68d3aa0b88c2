import Foundation
import MeridianStorage
import MeridianTestSupport
import SQLKit
import Testing

struct Boom: Error {}

/// The SQLite adapter's group commit under concurrency (run on PostgreSQL too, where each transaction is its own).
@Suite struct GroupCommitTests {
    @Test(arguments: backends) func groupCommitSurvivesFailingAndCancelledTransactions(backend: String) async throws {
        // Many transactions at once on one store: some succeed, some throw, some break a constraint, some are
        // cancelled mid-way (as a consumer's sibling tasks are when one of them fails). Each one's rows are
        // there exactly when it reported success, and no failure of one ever fails another.
        let database = try await TestDatabase.make(backend)
        try await database.store.withTransaction { db in
            try await db.raw("CREATE TABLE stress (id BIGINT PRIMARY KEY, note TEXT NOT NULL)").run()
            try await db.raw("INSERT INTO stress (id, note) VALUES (-1, 'taken')").run()
        }
        enum Kind: Int, CaseIterable { case succeeds, throwsAfterWriting, breaksAConstraint, isCancelled }
        for round in 0..<4 {
            var tasks: [(id: Int, kind: Kind, task: Task<Bool, any Error>)] = []
            for n in 0..<150 {
                let id = round * 1000 + n
                let kind = Kind(rawValue: n % Kind.allCases.count)!
                let store = database.store
                let task = Task {
                    try await store.withTransaction { db in
                        try await db.raw("INSERT INTO stress (id, note) VALUES (\(bind: id), 'one')").run()
                        if kind == .isCancelled { try await Task.sleep(for: .microseconds(Int.random(in: 0...400))) }
                        try await db.raw("INSERT INTO stress (id, note) VALUES (\(bind: id + 500), 'two')").run()
                        switch kind {
                        case .throwsAfterWriting: throw Boom()
                        case .breaksAConstraint: try await db.raw("INSERT INTO stress (id, note) VALUES (-1, 'again')").run()
                        case .succeeds, .isCancelled: break
                        }
                        return true
                    }
                }
                tasks.append((id, kind, task))
            }
            for entry in tasks where entry.kind == .isCancelled { entry.task.cancel() }
            var reported: [Int: Bool] = [:]
            for entry in tasks {
                do {
                    reported[entry.id] = try await entry.task.value
                } catch is Boom {
                    reported[entry.id] = false
                } catch is CancellationError {
                    reported[entry.id] = false
                } catch {
                    // A constraint error is this transaction's own failure; anything else hit a bystander.
                    #expect(entry.kind == .breaksAConstraint, "transaction \(entry.id) (\(entry.kind)) failed: \(error)")
                    reported[entry.id] = false
                }
                if entry.kind == .succeeds { #expect(reported[entry.id] == true, "transaction \(entry.id) must succeed") }
            }
            let stored = try await database.store.withDatabase { db in
                try await db.raw("SELECT id FROM stress WHERE id >= \(bind: round * 1000) AND id < \(bind: round * 1000 + 1000)")
                    .all().map { try $0.decode(column: "id", as: Int.self) }
            }
            let expected = reported.filter(\.value).keys.flatMap { [$0, $0 + 500] }
            #expect(Set(stored) == Set(expected), "round \(round): rows exactly of the transactions that reported success")
        }
        // The store still works afterwards.
        try await database.store.withTransaction { db in
            try await db.raw("INSERT INTO stress (id, note) VALUES (999999, 'after')").run()
        }
        await database.close()
    }
}
