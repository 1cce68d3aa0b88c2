import Foundation
import MeridianCore
import MeridianStorage
import MeridianTestSupport
import SQLKit
import Testing

@testable import MeridianIngestJobs

/// The jobs table on SQLite and PostgreSQL: the SQL that holds the rules between processes.
@Suite struct IngestJobStoreTests {
    func new(_ fingerprint: String, dataset: DatasetPeriod? = nil) -> NewIngestJob {
        NewIngestJob(
            source: .object(ObjectKey(rawValue: "a/\(fingerprint).csv")!),
            sourceVersion: IngestSourceVersion(size: 10, version: "\"e\""),
            options: IngestJobOptions(type: "t"), fingerprint: fingerprint, dataset: dataset)
    }

    @Test(arguments: backends) func theSameFingerprintFindsTheUnfinishedJob(backend: String) async throws {
        let fixture = try await IngestFixture(backend)
        let store = fixture.store
        let (first, created) = try await store.create(new("f1"), now: Date())
        #expect(created && first.status == .pending && first.checkpoint == IngestCheckpoint())
        let (again, createdAgain) = try await store.create(new("f1"), now: Date())
        #expect(!createdAgain && again.id == first.id)
        #expect(try await store.findUnfinished(fingerprint: "f1")?.id == first.id)
        #expect(try await store.findUnfinished(fingerprint: "f2") == nil)
        // Once it ended, the same fingerprint starts a new job.
        _ = try await store.cancel(first.id, now: Date())
        let (third, createdThird) = try await store.create(new("f1"), now: Date())
        #expect(createdThird && third.id != first.id)
        #expect(try await store.list(status: nil, limit: 10).count == 2)
        #expect(try await store.list(status: .cancelled, limit: -5).map(\.id) == [first.id])
        #expect(try await store.countByStatus() == [.pending: 1, .cancelled: 1])
        await fixture.close()
    }

    @Test(arguments: backends) func oneActiveJobPerDatasetPeriod(backend: String) async throws {
        let fixture = try await IngestFixture(backend)
        let store = fixture.store
        let period = DatasetPeriod(customerID: "c1", dataset: "sales", year: 2026, month: 3)
        let (job, _) = try await store.create(new("p1", dataset: period), now: Date())
        #expect(job.dataset == period)
        #expect(try await store.activeJob(for: period)?.id == job.id)
        await #expect(throws: IngestJobError(.periodBusy, "another job is ingesting \(period)")) {
            try await store.create(new("p2", dataset: period), now: Date())
        }
        // The unique index holds even when the check is skipped: a second active row is refused by the database.
        await #expect(throws: (any Error).self) {
            try await fixture.database.store.withTransaction { database in
                try await database.raw(
                    """
                    INSERT INTO ingest_jobs (id, status, source_kind, source_location, source_size, source_version, options,
                        fingerprint, dataset_period, created_at, updated_at)
                    VALUES ('x', 'IN_PROGRESS', 'object', 'a/b.csv', 1, 'v', '{}', 'other', \(bind: String(describing: period)), 0, 0)
                    """
                ).run()
            }
        }
        let other = DatasetPeriod(customerID: "c1", dataset: "sales", year: 2026, month: 4)
        #expect(try await store.create(new("p3", dataset: other), now: Date()).created)
        _ = try await store.cancel(job.id, now: Date())
        #expect(try await store.create(new("p4", dataset: period), now: Date()).created)
        await fixture.close()
    }

    @Test(arguments: backends) func aLeaseKeepsAJobToOneOwnerUntilItExpires(backend: String) async throws {
        let fixture = try await IngestFixture(backend)
        let store = fixture.store
        let start = Date(timeIntervalSince1970: 1_800_000_000)
        let (job, _) = try await store.create(new("l1"), now: start)
        let claimed = try #require(try await store.claim(owner: "a", leaseUntil: start + 60, now: start))
        #expect(claimed.id == job.id && claimed.status == .inProgress && claimed.owner == "a")
        #expect(try await store.claim(owner: "b", leaseUntil: start + 90, now: start + 30) == nil)
        #expect(try await store.claim(job.id, owner: "b", leaseUntil: start + 90, now: start + 30) == nil)
        #expect(try await store.renewLease(job.id, owner: "a", until: start + 120, now: start + 50))
        #expect(try await store.claim(owner: "b", leaseUntil: start + 150, now: start + 100) == nil)
        // "a" died: after its lease, "b" takes the job over with its checkpoint; "a" can no longer write.
        var checkpoint = IngestCheckpoint()
        checkpoint.offset = 42
        checkpoint.row = 3
        checkpoint.rowsRead = 3
        checkpoint.rowsPublished = 3
        #expect(
            try await store.checkpoint(
                job.id, owner: "a", checkpoint: checkpoint, errors: [], leaseUntil: start + 120, now: start + 60) == .inProgress)
        let taken = try #require(try await store.claim(owner: "b", leaseUntil: start + 200, now: start + 121))
        #expect(taken.owner == "b" && taken.checkpoint == checkpoint)
        #expect(!(try await store.renewLease(job.id, owner: "a", until: start + 300, now: start + 122)))
        await #expect(throws: IngestJobError.self) {
            try await store.checkpoint(
                job.id, owner: "a", checkpoint: checkpoint, errors: [], leaseUntil: start + 300, now: start + 122)
        }
        await #expect(throws: IngestJobError.self) {
            try await store.finish(job.id, owner: "a", failure: nil, reportKey: nil, now: start + 122)
        }
        // Errors are kept with the checkpoint, once each, in row order.
        let errors = [
            IngestRowError(row: 5, line: 6, reason: "r5", raw: [0, 0xFF, 10]),
            IngestRowError(row: 4, line: 5, reason: "r4", raw: []),
        ]
        _ = try await store.checkpoint(
            job.id, owner: "b", checkpoint: checkpoint, errors: errors, leaseUntil: start + 300, now: start + 130)
        _ = try await store.checkpoint(
            job.id, owner: "b", checkpoint: checkpoint, errors: errors, leaseUntil: start + 300, now: start + 131)
        #expect(try await store.errors(of: job.id, after: 0, limit: 10) == errors.reversed())
        #expect(try await store.errors(of: job.id, after: 4, limit: 10).map(\.row) == [5])
        let done = try await store.finish(job.id, owner: "b", failure: nil, reportKey: "r/k", now: start + 140)
        #expect(done.status == .completed && done.owner == nil && done.reportKey == "r/k")
        await #expect(throws: IngestJobError.self) { try await store.cancel(job.id, now: start + 150) }
        await fixture.close()
    }

    @Test(arguments: backends) func twoProcessesRacingForJobsNeverShareOne(backend: String) async throws {
        let fixture = try await IngestFixture(backend)
        let store = fixture.store
        for n in 0..<10 { _ = try await store.create(new("race\(n)"), now: Date()) }
        let now = Date()
        let claims = try await withThrowingTaskGroup(of: [IngestJobID].self) { group in
            for owner in ["a", "b", "c"] {
                group.addTask {
                    var mine: [IngestJobID] = []
                    while let job = try await store.claim(owner: owner, leaseUntil: now + 60, now: now) { mine.append(job.id) }
                    return mine
                }
            }
            return try await group.reduce(into: []) { $0 += $1 }
        }
        #expect(claims.count == 10)
        #expect(Set(claims).count == 10)
        await fixture.close()
    }
}
