import Foundation
import MeridianCore
import MeridianFileObjects
import MeridianTestSupport
import Synchronization
import Testing

@testable import MeridianIngestJobs

/// Jobs run end to end on the embedded event log, local files and objects, SQLite and PostgreSQL.
@Suite struct CSVIngestRunnerTests {
    @Test(arguments: backends) func rowsBecomeEventsWithDeterministicIDsAndHeaders(backend: String) async throws {
        let fixture = try await IngestFixture(backend)
        let bytes = Array(
            "\u{FEFF}id,name,when\r\n1,Ann,2026-01-02T03:04:05Z\r\n\r\n2,\"B, \"\"b\"\"\",2026-01-02T03:04:06.5Z".utf8)
        let path = try fixture.file("customers.csv", bytes)
        var options = IngestJobOptions(type: "customer.imported")
        options.timeColumn = "when"
        options.keyColumn = "name"
        options.batchSize = 1
        let job = try await fixture.claimed(.file(path: path), options)
        let reports = Mutex<[IngestProgress]>([])
        let outcome = try await fixture.runner().run(job, owner: "test", progress: { p in reports.withLock { $0.append(p) } })
        guard case .finished(let done) = outcome else {
            Issue.record("not finished: \(outcome)")
            await fixture.close()
            return
        }
        #expect(done.status == .completed)
        #expect(done.columns == ["id", "name", "when"])
        #expect(done.checkpoint.offset == Int64(bytes.count))
        #expect(done.checkpoint.rowsRead == 2 && done.checkpoint.rowsPublished == 2 && done.checkpoint.rowsRejected == 0)
        #expect(done.reportKey == nil)
        #expect(reports.withLock { $0.last?.bytesDone } == Int64(bytes.count))

        let records = try await fixture.records(fixture.topics.events)
        #expect(records.map { $0.header("ce_id") } == ["\(job.id):1", "\(job.id):2"])
        #expect(
            records.map { text($0.value) } == [
                #"{"id":"1","name":"Ann","when":"2026-01-02T03:04:05Z"}"#,
                #"{"id":"2","name":"B, \"b\"","when":"2026-01-02T03:04:06.5Z"}"#,
            ])
        #expect(records.map { $0.key.map(text) } == ["Ann", #"B, "b""#])
        #expect(records.map { $0.header("ce_time") } == ["2026-01-02T03:04:05.000Z", "2026-01-02T03:04:06.500Z"])
        #expect(records.map { $0.header("ce_type") } == ["customer.imported", "customer.imported"])
        #expect(records.map { $0.header("ce_source") } == [IngestJobOptions.defaultSource, IngestJobOptions.defaultSource])
        #expect(records.map { $0.header("ingest_row") } == ["1", "2"])
        #expect(records.allSatisfy { $0.header("ingest_job_id") == job.id.rawValue && $0.header("ingest_file") == path })
        await fixture.close()
    }

    @Test(arguments: backends) func anIDColumnNoHeaderAndAnotherDelimiterAndTopic(backend: String) async throws {
        let fixture = try await IngestFixture(backend)
        let path = try fixture.file("plain.tsv", Array("a-1\tx\na-2\ty\n".utf8))
        var options = IngestJobOptions(type: "thing.seen")
        options.hasHeader = false
        options.delimiter = "\t"
        options.idColumn = "column_1"
        options.topic = "imports"
        let job = try await fixture.claimed(.file(path: path), options)
        let outcome = try await fixture.runner().run(job, owner: "test")
        guard case .finished(let done) = outcome else { throw IngestJobError(.source, "\(outcome)") }
        #expect(done.status == .completed)
        #expect(done.columns == ["column_1", "column_2"])
        let records = try await fixture.records("imports")
        #expect(records.map { $0.header("ce_id") } == ["a-1", "a-2"])
        #expect(records.map { text($0.value) } == [#"{"column_1":"a-1","column_2":"x"}"#, #"{"column_1":"a-2","column_2":"y"}"#])
        #expect(records.map { $0.header("ingest_row") } == ["1", "2"])
        await fixture.close()
    }

    @Test(arguments: backends) func badRowsGoToTheReportAndTheDeadLetterTopic(backend: String) async throws {
        let fixture = try await IngestFixture(backend)
        var bytes = Array("id,name,when\n".utf8)
        bytes += Array("1,ok,2026-01-01T00:00:00Z\n".utf8)
        bytes += Array("2,too,many,columns\n".utf8)
        bytes += Array("3,".utf8) + [0xFF, 0xFE] + Array(",2026-01-01T00:00:00Z\n".utf8)
        bytes += Array("4,\(String(repeating: "x", count: 100)),2026-01-01T00:00:00Z\n".utf8)
        bytes += Array(",no id,2026-01-01T00:00:00Z\n".utf8)
        bytes += Array("6,bad time,yesterday\n".utf8)
        bytes += Array("7,ok,2026-01-01T00:00:01Z\n".utf8)
        let path = try fixture.file("bad.csv", bytes)
        var options = IngestJobOptions(type: "t")
        options.keyColumn = "id"
        options.timeColumn = "when"
        options.maxErrorRate = 1
        options.batchSize = 3
        let job = try await fixture.claimed(.file(path: path), options)
        let outcome = try await fixture.runner { $0.maxRecordBytes = 64 }.run(job, owner: "test")
        guard case .finished(let done) = outcome else { throw IngestJobError(.source, "\(outcome)") }
        #expect(done.status == .completed)
        #expect(done.checkpoint.rowsRead == 7)
        #expect(done.checkpoint.rowsPublished == 2)
        #expect(done.checkpoint.rowsRejected == 5)
        #expect(try await fixture.records(fixture.topics.events).map { $0.header("ingest_row") } == ["1", "7"])

        let reportKey = try #require(done.reportKey)
        #expect(reportKey == "ingest/reports/\(job.id)/errors.jsonl")
        let report = text(try #require(try await fixture.objects.bytes(of: try ObjectKey(validating: reportKey))))
        let lines = report.split(separator: "\n").map { try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any] }
        #expect(lines.map { $0?["row"] as? Int } == [2, 3, 4, 5, 6])
        #expect(lines.map { $0?["line"] as? Int } == [3, 4, 5, 6, 7])
        let reasons = lines.map { $0?["reason"] as? String ?? "" }
        #expect(reasons[0] == "expected 3 columns, found 4")
        #expect(reasons[1] == "invalid UTF-8 in field 2")
        #expect(reasons[2] == "the record is longer than 64 bytes")
        #expect(reasons[3] == #"the key column "id" is empty"#)
        #expect(reasons[4] == #"the time column "when" is not an RFC 3339 time"#)
        #expect(lines[0]?["raw"] as? String == "2,too,many,columns")
        #expect(lines[4]?["raw"] as? String == "6,bad time,yesterday")

        let dead = try await fixture.records(fixture.topics.deadLetter)
        #expect(dead.map { $0.header("ingest_row") } == ["2", "3", "4", "5", "6"])
        #expect(dead.allSatisfy { $0.header("dlq-error-class") == "validation" })
        #expect(dead.allSatisfy { $0.header("dlq-source-topic") == fixture.topics.events && $0.header("dlq-attempts") == "1" })
        #expect(dead.map { $0.header("dlq-error") } == reasons)
        #expect(dead.map { $0.key.map(text) } == (2...6).map { "\(job.id):\($0)" })
        #expect(Array(dead[1].value.prefix(4)) == [UInt8(ascii: "3"), UInt8(ascii: ","), 0xFF, 0xFE], "the raw bytes")
        await fixture.close()
    }

    @Test(arguments: backends) func tooManyRejectedRowsFailTheJobAfterTheMinimumRows(backend: String) async throws {
        let fixture = try await IngestFixture(backend)
        var text = "a,b\n"
        for row in 1...400 { text += row % 2 == 0 ? "\(row),x\n" : "\(row)\n" }
        let path = try fixture.file("half-bad.csv", Array(text.utf8))
        var options = IngestJobOptions(type: "t")
        options.maxErrorRate = 0.1
        options.batchSize = 50
        let job = try await fixture.claimed(.file(path: path), options)
        let outcome = try await fixture.runner { $0.errorRateMinimumRows = 100 }.run(job, owner: "test")
        guard case .finished(let failed) = outcome else { throw IngestJobError(.source, "\(outcome)") }
        #expect(failed.status == .failed)
        #expect(failed.failure == "50 of 100 rows rejected (more than the allowed 0.1)")
        #expect(failed.checkpoint.rowsRead == 100, "stopped at the first judgement, not at the end")
        #expect(failed.reportKey != nil)
        #expect(failed.owner == nil && failed.finishedAt != nil)
        await fixture.close()
    }

    /// The event log fails after 7 batches, having made the 8th durable without saying so: the job keeps its
    /// checkpoint, and the run that resumes it seeks there (an object read from its offset), publishes the rest,
    /// and repeats at most the one batch.
    @Test(arguments: backends) func anInterruptedJobResumesFromItsCheckpointWithNoRowLost(backend: String) async throws {
        let fixture = try await IngestFixture(backend)
        let bytes = csv(rows: 1_000)
        let key = try ObjectKey(validating: "uploads/csv/people.csv")
        _ = try await fixture.objects.put(key, contentType: "text/csv", bytes: bytes)
        var options = IngestJobOptions(type: "person.imported")
        options.batchSize = 50
        let job = try await fixture.claimed(.object(key), options, owner: "first")

        let failing = FailingLog(fixture.log, healthy: 7, lostAcknowledgement: true)
        await #expect(throws: EventLogError.self) {
            try await fixture.runner(eventLog: failing).run(job, owner: "first", retryDelay: .zero)
        }
        let stopped = try #require(try await fixture.jobs.job(job.id))
        #expect(stopped.status == .inProgress)
        #expect(stopped.owner == nil, "the lease is released")
        #expect(stopped.checkpoint.rowsPublished == 350)
        #expect(stopped.checkpoint.row == 350)
        #expect(stopped.columns == ["id", "name", "amount"])
        let checkpointOffset = stopped.checkpoint.offset
        #expect(checkpointOffset > 0 && checkpointOffset < Int64(bytes.count))

        // Running the same object again finds the unfinished job.
        #expect(try await fixture.jobs.findUnfinished(matching: .object(key), options: options)?.id == job.id)
        let again = try await fixture.jobs.create(source: .object(key), options: options)
        #expect(again.job.id == job.id && !again.created)

        let resumed = try #require(try await fixture.jobs.claim(job.id, owner: "second"))
        let firstReport = Mutex<IngestProgress?>(nil)
        let outcome = try await fixture.runner().run(
            resumed, owner: "second", progress: { p in firstReport.withLock { if $0 == nil { $0 = p } } })
        guard case .finished(let done) = outcome else { throw IngestJobError(.source, "\(outcome)") }
        #expect(done.status == .completed)
        #expect(done.checkpoint.rowsRead == 1_000 && done.checkpoint.rowsPublished == 1_000)
        let first = try #require(firstReport.withLock { $0 })
        #expect(first.bytesDone - first.bytesThisRun == checkpointOffset, "the resumed run started at the checkpoint")

        let ids = try await fixture.records(fixture.topics.events).compactMap { $0.header("ce_id") }
        #expect(Set(ids) == Set((1...1_000).map { "\(job.id):\($0)" }), "no row lost")
        let duplicates = ids.count - Set(ids).count
        #expect(duplicates <= 50, "at most one batch again")
        #expect(duplicates == 50, "the batch whose acknowledgement was lost")
        await fixture.close()
    }

    @Test(arguments: backends) func aCancelledJobStopsBeforeItsNextBatch(backend: String) async throws {
        let fixture = try await IngestFixture(backend)
        let path = try fixture.file("long.csv", csv(rows: 500))
        var options = IngestJobOptions(type: "t")
        options.batchSize = 100
        let job = try await fixture.claimed(.file(path: path), options)
        // Cancelled while held: the runner sees it at its first checkpoint.
        #expect(try await fixture.jobs.cancel(job.id).status == .cancelled)
        #expect(try await fixture.jobs.cancel(job.id).status == .cancelled, "a repeated cancel changes nothing")
        let outcome = try await fixture.runner().run(job, owner: "test")
        guard case .cancelled(let cancelled) = outcome else { throw IngestJobError(.source, "\(outcome)") }
        #expect(cancelled.status == .cancelled)
        #expect(cancelled.checkpoint.rowsPublished == 100)
        #expect(try await fixture.records(fixture.topics.events).count == 100)
        await #expect(throws: IngestJobError.self) { try await fixture.jobs.cancel(IngestJobID("missing")) }
        await fixture.close()
    }

    @Test(arguments: backends) func aStopRequestLeavesTheJobInProgressAtItsCheckpoint(backend: String) async throws {
        let fixture = try await IngestFixture(backend)
        let path = try fixture.file("stop.csv", csv(rows: 300))
        var options = IngestJobOptions(type: "t")
        options.batchSize = 100
        let job = try await fixture.claimed(.file(path: path), options)
        let batches = Mutex(0)
        let outcome = try await fixture.runner().run(
            job, owner: "test", shouldStop: { batches.withLock { $0 >= 1 } },
            progress: { _ in batches.withLock { $0 += 1 } })
        guard case .stopped(let checkpoint) = outcome else { throw IngestJobError(.source, "\(outcome)") }
        #expect(checkpoint.rowsPublished == 100)
        let stored = try #require(try await fixture.jobs.job(job.id))
        #expect(stored.status == .inProgress && stored.owner == nil && stored.checkpoint == checkpoint)
        await fixture.close()
    }

    @Test(arguments: backends) func aChangedSourceOrAMissingHeaderFailsTheJob(backend: String) async throws {
        let fixture = try await IngestFixture(backend)
        let path = try fixture.file("changing.csv", csv(rows: 10))
        let job = try await fixture.claimed(.file(path: path), IngestJobOptions(type: "t"))
        _ = try fixture.file("changing.csv", csv(rows: 11))
        guard case .finished(let failed) = try await fixture.runner().run(job, owner: "test") else {
            throw IngestJobError(.source, "not finished")
        }
        #expect(failed.status == .failed)
        #expect(failed.failure?.hasPrefix("the source changed since the job began") == true)

        let empty = try await fixture.claimed(.file(path: try fixture.file("empty.csv", [])), IngestJobOptions(type: "t"))
        guard case .finished(let noHeader) = try await fixture.runner().run(empty, owner: "test") else {
            throw IngestJobError(.source, "not finished")
        }
        #expect(noHeader.failure == "the file has no header")

        var options = IngestJobOptions(type: "t")
        options.timeColumn = "missing"
        let wrong = try await fixture.claimed(.file(path: try fixture.file("cols.csv", csv(rows: 2))), options)
        guard case .finished(let badColumn) = try await fixture.runner().run(wrong, owner: "test") else {
            throw IngestJobError(.source, "not finished")
        }
        #expect(badColumn.failure == #"the time column "missing" is not in the header"#)

        let twice = try await fixture.claimed(
            .file(path: try fixture.file("twice.csv", Array("a,a\n1,2\n".utf8))), IngestJobOptions(type: "t"))
        guard case .finished(let duplicate) = try await fixture.runner().run(twice, owner: "test") else {
            throw IngestJobError(.source, "not finished")
        }
        #expect(duplicate.failure == #"the header names "a" twice"#)
        await fixture.close()
    }
}
