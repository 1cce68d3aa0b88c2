import Foundation
import HTTPTypes
import Hummingbird
import Logging
import MeridianAuth
import MeridianCore
import MeridianHTTP

/// The ingest jobs' API, under `/api/ingest` (an admin, or a client with one of the ingest API keys):
/// - `POST /api/ingest/uploads` `{file_name}`: a presigned PUT for a CSV file, at `ingest/uploads/<id>/<file_name>`;
/// - `POST /api/ingest/jobs`: a job over an object of the store (never a path on the server: that would let a
///   client read any file the server can), 201, or 200 with the unfinished job of the same object and options;
/// - `GET /api/ingest/jobs` (newest first, `status`, `limit`) and `GET /api/ingest/jobs/{id}`;
/// - `POST /api/ingest/jobs/{id}/cancel`;
/// - `PUT /api/ingest/datasets/{customer}/{dataset}/{year}/{month}/{file}`: a new version of a period's dataset
///   (`X-Content-SHA256` required; `?columns=a,b` the expected header; `?type=T` ingests it), and `GET` of a period's
///   current manifest.
public struct IngestJobsController: APIRoutes {
    let jobs: IngestJobs
    let objects: (any ObjectStore)?
    /// Keys that may use this API besides admins (`ingest.apiKeys`).
    let apiKeys: Set<String>
    let defaults: IngestJobOptions
    let logger: Logger

    public init(
        jobs: IngestJobs, objects: (any ObjectStore)?, apiKeys: Set<String>, defaults: IngestJobOptions, logger: Logger
    ) {
        self.jobs = jobs
        self.objects = objects
        self.apiKeys = apiKeys
        self.defaults = defaults
        self.logger = logger
    }

    public func addRoutes(to router: some RouterMethods<MeridianRequestContext>) {
        let api = router.group("api/ingest")
        api.post("uploads") { request, context in try await self.presignUpload(request, context: context) }
        api.post("jobs") { request, context in try await self.create(request, context: context) }
        api.get("jobs") { request, context in try await self.list(request, context: context) }
        api.get("jobs/:id") { request, context in try await self.read(request, context: context) }
        api.post("jobs/:id/cancel") { request, context in try await self.cancel(request, context: context) }
        api.put("datasets/:customer/:dataset/:year/:month/:file") { request, context in
            try await self.uploadDataset(request, context: context)
        }
        api.get("datasets/:customer/:dataset/:year/:month") { request, context in
            try await self.currentDataset(request, context: context)
        }
    }

    /// An admin's token, or one of the ingest API keys in `X-API-Key` (as the ingest routes check them).
    private func authorize(_ request: Request, _ context: MeridianRequestContext) throws {
        if let key = request.headers[HTTPField.Name("X-API-Key")!], !apiKeys.isEmpty {
            guard apiKeys.contains(key) else {
                throw ProblemDetails(.unauthorized, slug: "unauthorized", detail: "the API key is not valid")
            }
            return
        }
        _ = try context.requireAdmin()
    }

    struct NewJob: Decodable {
        var objectKey: String
        var type: String
        var source: String?
        var idColumn: String?
        var timeColumn: String?
        var keyColumn: String?
        var delimiter: String?
        var hasHeader: Bool?
        var batchSize: Int?
        var topic: String?
        var maxErrorRate: Double?

        enum CodingKeys: String, CodingKey {
            case objectKey = "object_key"
            case type, source, delimiter, topic
            case idColumn = "id_column"
            case timeColumn = "time_column"
            case keyColumn = "key_column"
            case hasHeader = "has_header"
            case batchSize = "batch_size"
            case maxErrorRate = "max_error_rate"
        }
    }

    struct NewUpload: Decodable {
        var fileName: String

        enum CodingKeys: String, CodingKey {
            case fileName = "file_name"
        }
    }

    /// A job as clients see it.
    public struct JobView: Codable, Sendable {
        public var id: String
        public var status: String
        public var sourceKind: String
        public var source: String
        public var type: String
        public var columns: [String]?
        public var rowsRead: Int
        public var rowsPublished: Int
        public var rowsRejected: Int
        public var offsetBytes: Int64
        public var sizeBytes: Int64
        public var percent: Double
        public var failure: String?
        public var reportKey: String?
        public var createdAt: String
        public var updatedAt: String
        public var finishedAt: String?

        enum CodingKeys: String, CodingKey {
            case id, status, source, type, columns, percent, failure
            case sourceKind = "source_kind"
            case rowsRead = "rows_read"
            case rowsPublished = "rows_published"
            case rowsRejected = "rows_rejected"
            case offsetBytes = "offset_bytes"
            case sizeBytes = "size_bytes"
            case reportKey = "report_key"
            case createdAt = "created_at"
            case updatedAt = "updated_at"
            case finishedAt = "finished_at"
        }

        public init(_ job: IngestJob) {
            id = job.id.rawValue
            status = job.status.rawValue
            sourceKind = job.source.kind
            source = job.source.location
            type = job.options.type
            columns = job.columns
            rowsRead = job.checkpoint.rowsRead
            rowsPublished = job.checkpoint.rowsPublished
            rowsRejected = job.checkpoint.rowsRejected
            offsetBytes = job.checkpoint.offset
            sizeBytes = job.sourceVersion.size
            let fraction =
                job.status == .completed
                ? 1
                : job.sourceVersion.size > 0
                    ? Double(job.checkpoint.offset) / Double(job.sourceVersion.size) : 0
            percent = (min(max(fraction, 0), 1) * 1000).rounded() / 10
            failure = job.failure
            reportKey = job.reportKey
            createdAt = Timestamp.format(job.createdAt)
            updatedAt = Timestamp.format(job.updatedAt)
            finishedAt = job.finishedAt.map(Timestamp.format)
        }
    }

    struct JobList: Encodable {
        var items: [JobView]
    }

    private static func problem(_ error: IngestJobError, field: String? = nil) -> ProblemDetails {
        switch error.code {
        case .notFound: ProblemDetails(.notFound, slug: "not-found", detail: error.message)
        case .invalidTransition, .periodBusy: ProblemDetails(.conflict, slug: "conflict", detail: error.message)
        default:
            ProblemDetails(.unprocessableContent, slug: "invalid-field", detail: error.message, field: field)
        }
    }

    func presignUpload(_ request: Request, context: MeridianRequestContext) async throws -> Response {
        try authorize(request, context)
        guard let objects else {
            throw ProblemDetails(.notFound, slug: "not-found", detail: "this server keeps no objects")
        }
        let upload = try await decodeJSONBody(NewUpload.self, from: request, context: context)
        let name = upload.fileName
        do {
            try Datasets.checkFileName(name)
        } catch {
            throw ProblemDetails(
                .unprocessableContent, slug: "invalid-field", detail: "file_name \(error.detail)", field: "file_name")
        }
        let key = try ObjectKey(validating: "ingest/uploads/\(RandomID.uuidString().lowercased())/\(name)")
        let presigned = try await objects.presign(.put, key, contentType: "text/csv", expiresIn: .seconds(3600))
        struct View: Encodable {
            var object_key: String
            var url: String
            var method: String
            var headers: [String: String]
            var expires_at: String
        }
        return jsonResponse(
            View(
                object_key: key.rawValue, url: presigned.url, method: presigned.method.rawValue, headers: presigned.headers,
                expires_at: Timestamp.format(presigned.expiresAt)), status: .created)
    }

    func create(_ request: Request, context: MeridianRequestContext) async throws -> Response {
        try authorize(request, context)
        let new = try await decodeJSONBody(NewJob.self, from: request, context: context)
        guard let key = ObjectKey(rawValue: new.objectKey) else {
            throw ProblemDetails(
                .unprocessableContent, slug: "invalid-field", detail: "object_key is not a valid object key",
                field: "object_key")
        }
        var options = defaults
        options.type = new.type
        if let source = new.source { options.source = source }
        options.idColumn = new.idColumn
        options.timeColumn = new.timeColumn
        options.keyColumn = new.keyColumn
        if let delimiter = new.delimiter { options.delimiter = delimiter }
        if let hasHeader = new.hasHeader { options.hasHeader = hasHeader }
        if let batchSize = new.batchSize { options.batchSize = batchSize }
        options.topic = new.topic
        if let rate = new.maxErrorRate { options.maxErrorRate = rate }
        do {
            let (job, created) = try await jobs.create(source: .object(key), options: options)
            if created {
                logger.info("ingest job created", metadata: ["job_id": "\(job.id)", "source": "\(job.source)"])
            }
            return jsonResponse(
                JobView(job), status: created ? .created : .ok, headers: [.location: "/api/ingest/jobs/\(job.id.rawValue)"])
        } catch let violation as FieldViolation {
            let field = IngestJobOptions.spelling(violation.field, separator: "_")
            throw ProblemDetails(
                .unprocessableContent, slug: "invalid-field",
                detail: "\(field) \(violation.detail)", field: field)
        } catch let error as IngestJobError {
            throw Self.problem(error, field: "object_key")
        }
    }

    func list(_ request: Request, context: MeridianRequestContext) async throws -> Response {
        try authorize(request, context)
        var status: IngestJobStatus?
        if let text = request.uri.queryParameters.get("status") {
            guard let value = IngestJobStatus(rawValue: text.uppercased()) else {
                throw ProblemDetails(
                    .badRequest, slug: "invalid-query",
                    detail: "status must be one of \(IngestJobStatus.allCases.map(\.rawValue).joined(separator: ", "))",
                    field: "status")
            }
            status = value
        }
        let limit = try queryInteger(request, "limit", in: 1...1_000) ?? 100
        return jsonResponse(JobList(items: try await jobs.list(status: status, limit: limit).map(JobView.init)))
    }

    func read(_ request: Request, context: MeridianRequestContext) async throws -> Response {
        try authorize(request, context)
        let id = context.parameter("id")
        guard let job = try await jobs.job(IngestJobID(id)) else {
            throw ProblemDetails(.notFound, slug: "not-found", detail: "no ingest job \(id)")
        }
        return jsonResponse(JobView(job))
    }

    /// The period a dataset route names; a year or month that is not a number is 422 naming it.
    private func period(_ context: MeridianRequestContext) throws -> (customer: String, dataset: String, year: Int, month: Int) {
        guard let year = Int(context.parameter("year")) else {
            throw ProblemDetails(.unprocessableContent, slug: "invalid-field", detail: "year must be a number", field: "year")
        }
        guard let month = Int(context.parameter("month")) else {
            throw ProblemDetails(.unprocessableContent, slug: "invalid-field", detail: "month must be a number", field: "month")
        }
        return (context.parameter("customer"), context.parameter("dataset"), year, month)
    }

    private func datasets() throws -> Datasets {
        guard let objects else {
            throw ProblemDetails(.notFound, slug: "not-found", detail: "this server keeps no objects")
        }
        return Datasets(objects: objects, jobs: jobs)
    }

    struct DatasetView: Encodable {
        var key: String
        var manifest: DatasetManifest
        var job: JobView?
    }

    func uploadDataset(_ request: Request, context: MeridianRequestContext) async throws -> Response {
        try authorize(request, context)
        let datasets = try datasets()
        let (customer, dataset, year, month) = try period(context)
        guard let sha256 = request.headers[HTTPField.Name("X-Content-SHA256")!] else {
            throw ProblemDetails(
                .badRequest, slug: "malformed", detail: "X-Content-SHA256: the SHA-256 of the body, in hex, is required",
                field: "X-Content-SHA256")
        }
        let query = request.uri.queryParameters
        var options: IngestJobOptions?
        if let type = query.get("type") {
            var ingest = defaults
            ingest.type = type
            options = ingest
        }
        let columns = query.get("columns").map { $0.split(separator: ",", omittingEmptySubsequences: false).map(String.init) }
        let upload = DatasetUpload(
            customerID: customer, dataset: dataset, year: year, month: month, fileName: context.parameter("file"),
            sha256: sha256, expectedColumns: columns, ingest: options)
        do {
            let version = try await datasets.upload(upload, body: request.body.map { Array($0.readableBytesView) })
            logger.info("dataset version uploaded", metadata: ["key": "\(version.key)"])
            return jsonResponse(
                DatasetView(key: version.key.rawValue, manifest: version.manifest, job: version.job.map(JobView.init)),
                status: .created)
        } catch let violation as FieldViolation {
            throw ProblemDetails(
                .unprocessableContent, slug: "invalid-field", detail: violation.description,
                field: violation.field == "sha256"
                    ? "X-Content-SHA256" : IngestJobOptions.spelling(violation.field, separator: "_"))
        } catch ObjectStoreError.tooLarge(let limit) {
            throw ProblemDetails(.contentTooLarge, slug: "too-large", detail: "the dataset exceeds \(limit) bytes")
        } catch let error as IngestJobError {
            switch error.code {
            case .checksumMismatch:
                throw ProblemDetails(
                    .unprocessableContent, slug: "checksum-mismatch", detail: error.message, field: "X-Content-SHA256")
            case .header:
                throw ProblemDetails(.unprocessableContent, slug: "invalid-header", detail: error.message, field: "columns")
            default: throw Self.problem(error)
            }
        }
    }

    func currentDataset(_ request: Request, context: MeridianRequestContext) async throws -> Response {
        try authorize(request, context)
        let datasets = try datasets()
        let (customer, dataset, year, month) = try period(context)
        let period: DatasetPeriod
        do {
            period = try Datasets.period(
                DatasetUpload(customerID: customer, dataset: dataset, year: year, month: month, fileName: "x", sha256: ""))
        } catch {
            throw ProblemDetails(.unprocessableContent, slug: "invalid-field", detail: error.description, field: error.field)
        }
        guard let manifest = try await datasets.current(period) else {
            throw ProblemDetails(.notFound, slug: "not-found", detail: "no dataset uploaded for \(period)")
        }
        return jsonResponse(manifest)
    }

    func cancel(_ request: Request, context: MeridianRequestContext) async throws -> Response {
        try authorize(request, context)
        do {
            let job = try await jobs.cancel(IngestJobID(context.parameter("id")))
            logger.info("ingest job cancelled", metadata: ["job_id": "\(job.id)"])
            return jsonResponse(JobView(job))
        } catch let error as IngestJobError {
            throw Self.problem(error)
        }
    }
}
