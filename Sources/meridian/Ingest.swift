import ArgumentParser
import AsyncHTTPClient
import Configuration
import Foundation
import Logging
import MeridianApp
import MeridianCore
import MeridianIngestJobs
import Metrics
import NIOCore
import NIOHTTP1
import Synchronization

#if canImport(Glibc)
    import Glibc
#endif

/// `meridian ingest`: bulk CSV ingestion.
struct Ingest: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Bulk CSV ingestion: load a file into the event log as one event per row.",
        subcommands: [IngestCSV.self, IngestJobsCommand.self])
}

/// Where a command reaches the jobs: this machine's data dir (or `storage.url`), or a running server (`--target`).
struct IngestTarget: ParsableArguments {
    @Option(help: "A running Meridian's base URL (http://host:8080): hand the job to it instead of opening the data dir.")
    var target: String?

    @Option(help: "An admin's bearer token for --target (also MERIDIAN_TOKEN).")
    var token: String?

    @Option(help: "An ingest API key for --target (also MERIDIAN_API_KEY).")
    var apiKey: String?

    /// The headers that authenticate to the target.
    var headers: HTTPHeaders {
        var headers = HTTPHeaders()
        let environment = ProcessInfo.processInfo.environment
        if let token = token ?? environment["MERIDIAN_TOKEN"] { headers.add(name: "Authorization", value: "Bearer \(token)") }
        if let key = apiKey ?? environment["MERIDIAN_API_KEY"] { headers.add(name: "X-API-Key", value: key) }
        return headers
    }

    /// One JSON call to the target; a problem answer becomes a ``CommandFailure``.
    func call(_ method: HTTPMethod, _ path: String, json: [String: Any]? = nil) async throws -> [String: Any] {
        guard let target else { throw CommandFailure("no --target", status: ExitStatus.usage) }
        var base = target
        while base.hasSuffix("/") { base.removeLast() }
        var request = HTTPClientRequest(url: base + path)
        request.method = method
        request.headers = headers
        if let json {
            request.headers.add(name: "Content-Type", value: "application/json")
            request.body = .bytes(ByteBuffer(bytes: try JSONSerialization.data(withJSONObject: json)))
        }
        let response: HTTPClientResponse
        do {
            response = try await HTTPClient.shared.execute(request, timeout: .seconds(30))
        } catch {
            throw CommandFailure("cannot reach \(base): \(error) (--target)", status: ExitStatus.unavailable)
        }
        let body = try await response.body.collect(upTo: 16 * 1_048_576)
        let object = (try? JSONSerialization.jsonObject(with: Data(body.readableBytesView)) as? [String: Any]) ?? [:]
        guard (200..<300).contains(response.status.code) else {
            let detail = object["detail"] as? String ?? String(buffer: body)
            throw CommandFailure(
                "\(method) \(path): \(response.status.code) \(detail)",
                status: response.status.code == 401 || response.status.code == 403 ? ExitStatus.usage : ExitStatus.failure)
        }
        return object
    }
}

/// Reports a job's progress on standard output: a bar redrawn in place on a terminal, a line every few seconds
/// otherwise.
final class ProgressPrinter: Sendable {
    let terminal = isatty(STDOUT_FILENO) == 1
    private let last = Mutex(ContinuousClock.now - .seconds(60))

    func report(_ progress: IngestProgress) {
        let every: Duration = terminal ? .milliseconds(200) : .seconds(2)
        let due = last.withLock { last in
            guard ContinuousClock.now - last >= every else { return false }
            last = .now
            return true
        }
        guard due else { return }
        let line = IngestProgressFormatter.line(progress, terminal: terminal)
        FileHandle.standardOutput.write(Data((terminal ? "\r\(line)" : "\(line)\n").utf8))
    }

    func finish() {
        if terminal { FileHandle.standardOutput.write(Data("\n".utf8)) }
    }
}

struct IngestCSV: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "csv",
        abstract: "Load a CSV file: each row becomes one CloudEvent (id <job_id>:<row>) on the events topic.",
        discussion: """
            The input is a local file, an object key of the store objects.url names, or s3://BUCKET/KEY. Running the \
            same command on the same, unchanged file resumes its unfinished job from its last checkpoint (a crash \
            repeats at most one batch, with the same ids). Bad rows go to an error report object and events-dlq; the \
            job fails past --max-error-rate. Beside a running server, use --target URL: the file is uploaded to its \
            store and the server runs the job. Exit status: 0 completed, 65 failed (too many bad rows, or the file \
            changed), 75 stopped by SIGINT/SIGTERM (run it again to resume).
            """)

    @OptionGroup var common: CommonOptions
    @OptionGroup var remote: IngestTarget

    @Argument(help: "A file path, an object key, or s3://BUCKET/KEY.")
    var input: String

    @Option(help: "The CloudEvent type of every row's event.")
    var type: String

    @Option(help: "The CloudEvent source (default /meridian/ingest-jobs).")
    var source: String?

    @Option(help: "A column whose value is the event id (default <job_id>:<row>).")
    var idColumn: String?

    @Option(help: "A column holding the event time (RFC 3339; default: when the row is read).")
    var timeColumn: String?

    @Option(help: "A column whose value is the record key.")
    var keyColumn: String?

    @Option(help: "The field delimiter, one character (default ,).")
    var delimiter: String?

    @Flag(help: "The first line is a row, not a header (columns are then column_1, column_2...).")
    var noHeader = false

    @Option(help: "Rows per durable batch (default ingest.jobBatchSize, 500).")
    var batchSize: Int?

    @Option(help: "The topic (default the events topic).")
    var topic: String?

    @Option(help: "The share of bad rows past which the job fails (default ingest.maxErrorRate, 0.01).")
    var maxErrorRate: Double?

    func options(_ settings: MeridianSettings) -> IngestJobOptions {
        var options = settings.ingestJobs.options(type: type)
        if let source { options.source = source }
        options.idColumn = idColumn
        options.timeColumn = timeColumn
        options.keyColumn = keyColumn
        if let delimiter { options.delimiter = delimiter }
        options.hasHeader = !noHeader
        if let batchSize { options.batchSize = batchSize }
        options.topic = topic
        if let maxErrorRate { options.maxErrorRate = maxErrorRate }
        return options
    }

    func run() async throws {
        let settings = try await common.settings(extra: ["roles": .init(.stringArray(["ingest-jobs"]), isSecret: false)])
        bootstrapLogging(format: "text", level: common.logLevel ?? "warning")
        let logger = Logger(label: "meridian.ingest")
        if remote.target != nil {
            try await runRemote(settings)
            return
        }
        let options = options(settings)
        let input = self.input
        let printer = ProgressPrinter()
        let outcome: (job: IngestJob, stopped: Bool)
        do {
            outcome = try await LocalIngestJobs.with(
                settings: settings, withEventLog: true, logger: logger, metrics: NOOPMetricsHandler.instance
            ) { local in
                let (job, created) = try await local.jobs.create(source: try local.source(input), options: options)
                say(
                    created
                        ? "job \(job.id): \(job.source.location) → \(options.topic ?? settings.topics.events)"
                        : "job \(job.id): resuming at row \(job.checkpoint.row + 1) (byte \(job.checkpoint.offset))")
                return try await runJob(job, local: local, printer: printer)
            }
        } catch {
            throw ingestFailure(error, settings: settings)
        }
        printer.finish()
        try report(outcome.job, stopped: outcome.stopped)
    }

    func runRemote(_ settings: MeridianSettings) async throws {
        var key = input
        if FileManager.default.fileExists(atPath: input) {
            let upload = try await remote.call(
                .POST, "/api/ingest/uploads", json: ["file_name": URL(fileURLWithPath: input).lastPathComponent])
            guard let url = upload["url"] as? String, let objectKey = upload["object_key"] as? String else {
                throw CommandFailure("the target gave no upload URL", status: ExitStatus.failure)
            }
            try await put(file: input, to: url, headers: upload["headers"] as? [String: String] ?? [:])
            key = objectKey
        } else if input.hasPrefix("s3://"), let slash = input.dropFirst(5).firstIndex(of: "/") {
            key = String(input[input.index(after: slash)...])
        }
        let options = options(settings)
        var body: [String: Any] = [
            "object_key": key, "type": options.type, "source": options.source, "delimiter": options.delimiter,
            "has_header": options.hasHeader, "batch_size": options.batchSize, "max_error_rate": options.maxErrorRate,
        ]
        body["id_column"] = options.idColumn
        body["time_column"] = options.timeColumn
        body["key_column"] = options.keyColumn
        body["topic"] = options.topic
        var job = try await remote.call(.POST, "/api/ingest/jobs", json: body)
        guard let id = job["id"] as? String else { throw CommandFailure("the target gave no job id") }
        say("job \(id): handed to \(remote.target ?? "")")
        while !["COMPLETED", "FAILED", "CANCELLED"].contains(job["status"] as? String ?? "") {
            try await Task.sleep(for: .seconds(1))
            job = try await remote.call(.GET, "/api/ingest/jobs/\(id)")
            say(
                "\(job["status"] as? String ?? "?") \(job["percent"] as? Double ?? 0)% rows \(job["rows_read"] as? Int ?? 0) published \(job["rows_published"] as? Int ?? 0) rejected \(job["rows_rejected"] as? Int ?? 0)"
            )
        }
        if job["status"] as? String != "COMPLETED" {
            throw CommandFailure(
                "job \(id) \(job["status"] as? String ?? ""): \(job["failure"] as? String ?? "")", status: 65)
        }
    }

    /// Streams `file` to a presigned PUT.
    func put(file: String, to url: String, headers: [String: String]) async throws {
        guard let handle = FileHandle(forReadingAtPath: file) else {
            throw CommandFailure("cannot read \(file)", status: ExitStatus.noInput)
        }
        defer { try? handle.close() }
        let size = (try? FileManager.default.attributesOfItem(atPath: file)[.size] as? Int) ?? 0
        var request = HTTPClientRequest(url: url)
        request.method = .PUT
        for (name, value) in headers { request.headers.add(name: name, value: value) }
        let chunks = AsyncStream<ByteBuffer> { continuation in
            while let data = try? handle.read(upToCount: 1_048_576), !data.isEmpty {
                continuation.yield(ByteBuffer(bytes: data))
            }
            continuation.finish()
        }
        request.body = .stream(chunks, length: .known(Int64(size)))
        let response = try await HTTPClient.shared.execute(request, timeout: .hours(1))
        _ = try await response.body.collect(upTo: 65_536)
        guard response.status == .ok else {
            throw CommandFailure("uploading \(file): \(response.status)", status: ExitStatus.failure)
        }
    }
}

/// One line on standard output, written at once (progress lines are written unbuffered beside it).
func say(_ line: String) {
    FileHandle.standardOutput.write(Data((line + "\n").utf8))
}

/// Runs a job this process created or resumes, in the foreground: (the job as it ended, or stopped by a signal).
func runJob(_ job: IngestJob, local: LocalIngestJobs, printer: ProgressPrinter) async throws -> (IngestJob, Bool) {
    guard let runner = local.runner else { throw CommandFailure("no event log") }
    let host = ProcessInfo.processInfo.hostName
    let owner = "cli-\(host)-\(ProcessInfo.processInfo.processIdentifier)-\(RandomID.uuidString().prefix(8))"
    var claimed = try await local.jobs.claim(job.id, owner: owner, lease: local.settings.ingestJobs.lease)
    if claimed == nil, let previous = try await local.jobs.job(job.id), let holder = previous.owner,
        let pid = deadCommand(holder, host: host)
    {
        // A command of this machine that was killed (kill -9, a crash) holds it: no need to wait for its lease.
        try await local.jobs.store.release(job.id, owner: holder, retryAt: Date(), now: Date())
        say("job \(job.id): taking it over from process \(pid), which is gone")
        claimed = try await local.jobs.claim(job.id, owner: owner, lease: local.settings.ingestJobs.lease)
    }
    guard let held = claimed else {
        let now = try await local.jobs.job(job.id) ?? job
        guard now.status.isFinal else {
            throw CommandFailure(
                "job \(job.id) is being run by \(now.owner ?? "another process") (its lease ends \(now.leaseExpiresAt.map(Timestamp.format) ?? "soon"))",
                status: 75)
        }
        return (now, false)
    }
    switch try await runner.run(held, owner: owner, shouldStop: local.shouldStop, progress: printer.report) {
    case .finished(let ended), .cancelled(let ended): return (ended, false)
    case .stopped: return (try await local.jobs.job(job.id) ?? held, true)
    }
}

/// The process id of the command that `owner` names, when it ran on `host` and is no longer alive.
func deadCommand(_ owner: String, host: String) -> Int32? {
    let prefix = "cli-\(host)-"
    guard owner.hasPrefix(prefix), let pid = owner.dropFirst(prefix.count).split(separator: "-").first.flatMap({ Int32($0) }),
        pid > 0
    else { return nil }
    if kill(pid, 0) != 0 { return errno == ESRCH ? pid : nil }
    // Alive, or a zombie nobody reaped yet (state Z in /proc/PID/stat, after the command's name in parentheses).
    guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
        let close = stat.lastIndex(of: ")"), stat[close...].dropFirst(2).first == "Z"
    else { return nil }
    return pid
}

/// Prints how the job ended; throws the exit status of a job that did not complete.
func report(_ job: IngestJob, stopped: Bool) throws {
    let counts =
        "\(job.checkpoint.rowsRead) rows read, \(job.checkpoint.rowsPublished) published, \(job.checkpoint.rowsRejected) rejected"
    if stopped {
        throw CommandFailure(
            "job \(job.id) stopped at row \(job.checkpoint.row) (\(counts)): run the same command again to resume", status: 75)
    }
    say("job \(job.id) \(job.status.rawValue): \(counts)" + (job.reportKey.map { "; error report: \($0)" } ?? ""))
    switch job.status {
    case .completed: return
    case .failed: throw CommandFailure("job \(job.id) failed: \(job.failure ?? "")", status: 65)
    default: throw CommandFailure("job \(job.id) is \(job.status.rawValue)", status: ExitStatus.failure)
    }
}

/// A failure of an ingest command as one line and an exit status.
func ingestFailure(_ error: any Error, settings: MeridianSettings) -> any Error {
    switch error {
    case let failure as CommandFailure: return failure
    case let violation as FieldViolation:
        let option = IngestJobOptions.spelling(violation.field, separator: "-")
        return CommandFailure("--\(option) \(violation.detail)", status: ExitStatus.usage)
    case let job as IngestJobError:
        switch job.code {
        case .notFound, .source: return CommandFailure(job.message, status: ExitStatus.noInput)
        case .periodBusy, .invalidTransition: return CommandFailure(job.message, status: 75)
        default: return CommandFailure(job.message, status: ExitStatus.failure)
        }
    default:
        var failure = CommandFailure(startup: error, settings: settings)
        if failure.status == ExitStatus.unavailable, failure.description.contains("in use") {
            failure.description += "; beside a running server, hand it the job with --target URL"
        }
        return failure
    }
}

struct IngestJobsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "jobs", abstract: "List, show, resume and cancel ingest jobs.",
        subcommands: [List.self, Show.self, Resume.self, Cancel.self])

    /// Runs `body` on this machine's jobs (the store only, unless `withEventLog`).
    static func local<Result: Sendable>(
        _ common: CommonOptions, withEventLog: Bool = false,
        _ body: @escaping @Sendable (LocalIngestJobs) async throws -> Result
    ) async throws -> Result {
        let settings = try await common.settings(extra: ["roles": .init(.stringArray(["ingest-jobs"]), isSecret: false)])
        bootstrapLogging(format: "text", level: common.logLevel ?? "warning")
        do {
            return try await LocalIngestJobs.with(
                settings: settings, withEventLog: withEventLog, logger: Logger(label: "meridian.ingest"),
                metrics: NOOPMetricsHandler.instance, body)
        } catch {
            throw ingestFailure(error, settings: settings)
        }
    }

    static func json(_ job: IngestJob) -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        return String(decoding: (try? encoder.encode(IngestJobsController.JobView(job))) ?? Data(), as: UTF8.self)
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "The newest jobs first, one JSON object per line.")
        @OptionGroup var common: CommonOptions
        @Option(help: "Only jobs of this status (PENDING, IN_PROGRESS, COMPLETED, FAILED, CANCELLED).")
        var status: String?
        @Option(help: "At most this many (default 100).")
        var limit = 100

        func run() async throws {
            var wanted: IngestJobStatus?
            if let status {
                guard let value = IngestJobStatus(rawValue: status.uppercased()) else {
                    throw CommandFailure("--status must be one of PENDING, IN_PROGRESS, COMPLETED, FAILED, CANCELLED", status: 64)
                }
                wanted = value
            }
            let (status, limit) = (wanted, min(max(limit, 1), 1_000))
            for job in try await IngestJobsCommand.local(common, { try await $0.jobs.list(status: status, limit: limit) }) {
                say(IngestJobsCommand.json(job))
            }
        }
    }

    struct Show: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "One job, as JSON.")
        @OptionGroup var common: CommonOptions
        @Argument var id: String

        func run() async throws {
            let id = self.id
            guard let job = try await IngestJobsCommand.local(common, { try await $0.jobs.job(IngestJobID(id)) }) else {
                throw CommandFailure("no ingest job \(id)", status: ExitStatus.noInput)
            }
            say(IngestJobsCommand.json(job))
        }
    }

    struct Cancel: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Cancel a pending or running job (a running one stops after its current batch).")
        @OptionGroup var common: CommonOptions
        @Argument var id: String

        func run() async throws {
            let id = self.id
            let job = try await IngestJobsCommand.local(common) { try await $0.jobs.cancel(IngestJobID(id)) }
            say(IngestJobsCommand.json(job))
        }
    }

    struct Resume: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Run an unfinished job here from its checkpoint (a server's ingest-jobs role resumes by itself).")
        @OptionGroup var common: CommonOptions
        @Argument var id: String

        func run() async throws {
            let id = self.id
            let printer = ProgressPrinter()
            let (job, stopped) = try await IngestJobsCommand.local(common, withEventLog: true) { local in
                guard let job = try await local.jobs.job(IngestJobID(id)) else {
                    throw CommandFailure("no ingest job \(id)", status: ExitStatus.noInput)
                }
                return try await runJob(job, local: local, printer: printer)
            }
            printer.finish()
            try report(job, stopped: stopped)
        }
    }
}
