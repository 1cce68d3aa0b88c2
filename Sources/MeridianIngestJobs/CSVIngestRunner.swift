import Foundation
import Logging
import MeridianCore

/// Runs one claimed job from its checkpoint to its end, a batch at a time.
///
/// Each batch (``IngestJobOptions/batchSize`` rows) is appended to the event log, the rejected rows' `events-dlq`
/// records with it, and only once the log has made them durable is the checkpoint (byte offset, line, row,
/// counts) written, with the batch's rejected rows, in one SQL transaction. A crash between the two sends the
/// batch again on resume: at most one batch of duplicates, with the same ids. A resume seeks to the checkpoint's
/// offset and takes the header's columns from the job row (the header is read once, when the job starts).
///
/// Between batches the runner stops when the job was cancelled (CANCELLED, report written), when the error
/// budget fails it (FAILED), or when `shouldStop` says so (graceful shutdown: the job stays IN_PROGRESS with
/// its checkpoint, its lease released for any runner to take).
public struct CSVIngestRunner: Sendable {
    public struct Configuration: Sendable {
        /// How long a claim lasts without renewal; renewed at each checkpoint and every third of it. Default 60 s.
        public var leaseDuration: Duration = .seconds(60)
        /// The longest record, in bytes. Default 1 MiB.
        public var maxRecordBytes = 1_048_576
        /// Rows read before the error budget is judged mid-file. Default 1,000.
        public var errorRateMinimumRows = IngestErrorBudget.defaultMinimumRows
        /// The prefix of error report keys. Default `ingest/reports`.
        public var reportPrefix = "ingest/reports"
        /// The topics (`events` is the default target, `events-dlq` gets the rejected rows).
        public var topics = Topics()

        public init() {}
    }

    /// How a run ended.
    public enum Outcome: Sendable, Hashable {
        /// COMPLETED or FAILED.
        case finished(IngestJob)
        case cancelled(IngestJob)
        /// Stopped between batches (shutdown or task cancellation), IN_PROGRESS at this checkpoint.
        case stopped(IngestCheckpoint)
    }

    public let configuration: Configuration
    public let store: any IngestJobStore
    public let eventLog: any EventLog
    public let sources: IngestSourceReader
    public let metrics: IngestMetrics
    public let logger: Logger
    let now: @Sendable () -> Date

    public init(
        configuration: Configuration = .init(), store: any IngestJobStore, eventLog: any EventLog,
        objects: (any ObjectStore)?, metrics: IngestMetrics = IngestMetrics(), logger: Logger,
        now: @escaping @Sendable () -> Date = { Date() }
    ) {
        self.configuration = configuration
        self.store = store
        self.eventLog = eventLog
        self.sources = IngestSourceReader(objects: objects)
        self.metrics = metrics
        self.logger = logger
        self.now = now
    }

    /// Runs `job`, which `owner` claimed (``IngestJobStore/claim(owner:leaseUntil:now:)``). Throws when the event
    /// log, the store or the object store fails (the job keeps its last checkpoint; the lease is released so that a
    /// runner retries it after `retryDelay`).
    public func run(
        _ job: IngestJob, owner: String, retryDelay: Duration = .seconds(5),
        shouldStop: @escaping @Sendable () -> Bool = { false },
        progress: (@Sendable (IngestProgress) -> Void)? = nil
    ) async throws -> Outcome {
        guard job.owner == owner, job.status == .inProgress else {
            throw IngestJobError(.leaseLost, "job \(job.id) is not held by \(owner)")
        }
        let heartbeat = Task { [store, now, lease = configuration.leaseDuration] in
            while !Task.isCancelled {
                try? await Task.sleep(for: lease / 3)
                if Task.isCancelled { break }
                let time = now()
                _ = try? await store.renewLease(job.id, owner: owner, until: time + lease.timeInterval, now: time)
            }
        }
        defer { heartbeat.cancel() }
        do {
            var run = Run(runner: self, job: job, owner: owner, shouldStop: shouldStop, progress: progress)
            let outcome = try await run.execute()
            if case .stopped = outcome {
                try await uncancelled { [store, now] in
                    try await store.release(job.id, owner: owner, retryAt: now(), now: now())
                }
            }
            return outcome
        } catch {
            logger.warning(
                "ingest job stopped by an error; it resumes from its checkpoint",
                metadata: ["job_id": "\(job.id)", "error": "\(error)"])
            try? await uncancelled { [store, now] in
                try await store.release(job.id, owner: owner, retryAt: now() + retryDelay.timeInterval, now: now())
            }
            throw error
        }
    }

    /// One run's state.
    private struct Run {
        let runner: CSVIngestRunner
        var job: IngestJob
        let owner: String
        let shouldStop: @Sendable () -> Bool
        let progress: (@Sendable (IngestProgress) -> Void)?
        let budget: IngestErrorBudget
        let topic: String
        let started = ContinuousClock.now

        /// The last durable checkpoint, and the one the batch being built reaches.
        var checkpoint: IngestCheckpoint
        var next: IngestCheckpoint
        var rows: RowEvents?
        var events: [EventRecord] = []
        var eventRows: [(row: Int, line: Int)] = []
        var rejected: [IngestRowError] = []
        var deadLetters: [EventRecord] = []
        var startOffset: Int64
        var startRows: Int
        var size: Int64 = 0

        init(
            runner: CSVIngestRunner, job: IngestJob, owner: String, shouldStop: @escaping @Sendable () -> Bool,
            progress: (@Sendable (IngestProgress) -> Void)?
        ) {
            self.runner = runner
            self.job = job
            self.owner = owner
            self.shouldStop = shouldStop
            self.progress = progress
            budget = IngestErrorBudget(
                maxErrorRate: job.options.maxErrorRate, minimumRows: runner.configuration.errorRateMinimumRows)
            topic = job.options.topic.map { runner.configuration.topics.prefix + $0 } ?? runner.configuration.topics.events
            checkpoint = job.checkpoint
            next = job.checkpoint
            startOffset = job.checkpoint.offset
            startRows = job.checkpoint.rowsRead
        }

        var store: any IngestJobStore { runner.store }
        var now: Date { runner.now() }
        var leaseUntil: Date { runner.now() + runner.configuration.leaseDuration.timeInterval }

        mutating func execute() async throws -> Outcome {
            let opened: (version: IngestSourceVersion, bytes: ObjectBytes)
            do {
                opened = try await runner.sources.open(job.source, from: checkpoint.offset)
            } catch let error as IngestJobError {
                return try await finish(failure: error.message)
            }
            guard opened.version == job.sourceVersion else {
                return try await finish(
                    failure:
                        "the source changed since the job began (size \(job.sourceVersion.size), now \(opened.version.size))")
            }
            size = opened.version.size
            if let columns = job.columns { rows = try makeRows(columns) }
            var configuration = CSVReader.Configuration()
            configuration.delimiter = job.options.delimiterByte
            configuration.maxRecordBytes = runner.configuration.maxRecordBytes
            var reader = CSVReader(configuration: configuration, offset: checkpoint.offset, line: checkpoint.line)
            for try await chunk in opened.bytes {
                for record in reader.read(chunk) {
                    if let outcome = try await handle(record) { return outcome }
                }
            }
            if let last = reader.finish(), let outcome = try await handle(last) { return outcome }
            if rows == nil, job.options.hasHeader {
                return try await finish(failure: "the file has no header")
            }
            if let outcome = try await flush(force: true) { return outcome }
            return try await finish(
                failure: budget.verdict(rowsRead: next.rowsRead, rowsRejected: next.rowsRejected, atEnd: true))
        }

        func makeRows(_ columns: [String]) throws -> RowEvents {
            try RowEvents(
                jobID: job.id, columns: columns, options: job.options, file: job.source.location, topic: topic)
        }

        /// Handles one record; returns the outcome when the job ends or stops after it.
        mutating func handle(_ record: CSVReader.Record) async throws -> Outcome? {
            if case .fields(let fields) = record.content, fields.isEmpty {
                // A blank line is no row.
                advance(past: record)
                return nil
            }
            if rows == nil {
                do {
                    guard case .fields(let fields) = record.content else {
                        if case .error(let reason, _) = record.content {
                            throw IngestJobError(.header, "the first record (line \(record.line)) cannot be read: \(reason)")
                        }
                        return nil
                    }
                    if job.options.hasHeader {
                        rows = try makeRows(try RowEvents.checkHeader(fields))
                        advance(past: record)
                    } else {
                        rows = try makeRows(RowEvents.numberedColumns(fields.count))
                    }
                    // Stored before any row: a resume takes the columns from here and never reads the header again.
                    try await store.recordHeader(
                        job.id, owner: owner, columns: rows?.columns ?? [], checkpoint: next, now: now)
                    job.columns = rows?.columns
                    if job.options.hasHeader { return nil }
                } catch let error as IngestJobError where error.code == .header {
                    return try await finish(failure: error.message)
                }
            }
            guard let rows else { return nil }
            next.row += 1
            next.rowsRead += 1
            switch record.content {
            case .error(let reason, let raw):
                reject(row: next.row, line: record.line, reason: reason, raw: raw, rows: rows)
            case .fields(let fields):
                switch rows.record(fields, row: next.row, now: now) {
                case .success(let event):
                    events.append(event)
                    eventRows.append((next.row, record.line))
                case .failure(let rejection):
                    reject(row: next.row, line: record.line, reason: rejection.reason, raw: rows.line(fields), rows: rows)
                }
            }
            advance(past: record)
            return try await flush(force: false)
        }

        mutating func advance(past record: CSVReader.Record) {
            next.offset = record.end
            next.line = record.nextLine
        }

        mutating func reject(row: Int, line: Int, reason: String, raw: [UInt8], rows: RowEvents) {
            rejected.append(IngestRowError(row: row, line: line, reason: reason, raw: raw))
            deadLetters.append(rows.deadLetter(row: row, raw: raw, reason: reason, topics: runner.configuration.topics))
        }

        /// Appends the batch once it is full (or at the end), waits for durability, writes the checkpoint.
        mutating func flush(force: Bool) async throws -> Outcome? {
            let pending = events.count + rejected.count
            guard pending >= job.options.batchSize || (force && (pending > 0 || next != checkpoint)) else { return nil }
            var published = events.count
            if pending > 0 {
                let results = await runner.eventLog.append(events + deadLetters)
                var refused: [EventRecord] = []
                for (index, result) in results.enumerated() {
                    guard case .failure(let error) = result else { continue }
                    // A record the log can never take is the row's fault: rejected, to the DLQ with the log's class.
                    guard index < events.count, error.isPermanentForRecord else { throw error }
                    published -= 1
                    let row = eventRows[index]
                    rejected.append(
                        IngestRowError(
                            row: row.row, line: row.line, reason: "the event log refused the event: \(error)",
                            raw: Array(events[index].value.prefix(1_024))))
                    refused.append(
                        DeadLetter.record(
                            for: events[index], topics: runner.configuration.topics, error: error.description,
                            errorClass: error.deadLetterClass, attempts: 1))
                }
                if !refused.isEmpty {
                    for result in await runner.eventLog.append(refused) {
                        if case .failure(let error) = result { throw error }
                    }
                }
            }
            next.rowsPublished += published
            next.rowsRejected = next.rowsRejected + rejected.count
            let status = try await store.checkpoint(
                job.id, owner: owner, checkpoint: next, errors: rejected, leaseUntil: leaseUntil, now: now)
            runner.metrics.batch(published: published, rejected: rejected.count, bytes: next.offset - checkpoint.offset)
            checkpoint = next
            job.checkpoint = next
            events.removeAll(keepingCapacity: true)
            eventRows.removeAll(keepingCapacity: true)
            rejected.removeAll()
            deadLetters.removeAll()
            report()
            if status == .cancelled { return try await cancelled() }
            if let failure = budget.verdict(rowsRead: next.rowsRead, rowsRejected: next.rowsRejected, atEnd: false) {
                return try await finish(failure: failure)
            }
            if !force, shouldStop() || Task.isCancelled {
                runner.logger.info(
                    "ingest job stopped between batches", metadata: ["job_id": "\(job.id)", "offset": "\(checkpoint.offset)"])
                return .stopped(checkpoint)
            }
            return nil
        }

        func report() {
            progress?(
                IngestProgress(
                    jobID: job.id, bytesDone: checkpoint.offset, bytesTotal: size, rowsRead: checkpoint.rowsRead,
                    rowsPublished: checkpoint.rowsPublished, rowsRejected: checkpoint.rowsRejected,
                    bytesThisRun: checkpoint.offset - startOffset, rowsThisRun: checkpoint.rowsRead - startRows,
                    elapsed: ContinuousClock.now - started))
        }

        func writeReport() async throws -> String? {
            guard checkpoint.rowsRejected > 0, let objects = runner.sources.objects else { return nil }
            return try await IngestErrorReport.write(
                job.id, store: store, objects: objects, prefix: runner.configuration.reportPrefix
            ).rawValue
        }

        mutating func finish(failure: String?) async throws -> Outcome {
            let key = try await writeReport()
            let finished = try await store.finish(job.id, owner: owner, failure: failure, reportKey: key, now: now)
            runner.logger.info(
                "ingest job finished",
                metadata: [
                    "job_id": "\(job.id)", "status": "\(finished.status.rawValue)",
                    "rows_published": "\(finished.checkpoint.rowsPublished)",
                    "rows_rejected": "\(finished.checkpoint.rowsRejected)", "failure": "\(failure ?? "")",
                ])
            return .finished(finished)
        }

        mutating func cancelled() async throws -> Outcome {
            if let key = try await writeReport() { try await store.setReport(job.id, key: key, now: now) }
            runner.logger.info("ingest job cancelled", metadata: ["job_id": "\(job.id)"])
            return .cancelled(try await store.find(job.id) ?? job)
        }
    }
}
