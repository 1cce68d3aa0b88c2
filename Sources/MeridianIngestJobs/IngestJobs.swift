import Crypto
import Foundation
import MeridianCore

/// What the command line and the HTTP API call: create (or find again) jobs, read them, cancel them.
///
/// Running is the ``CSVIngestService``'s (in the background) or the ``CSVIngestRunner``'s (in the foreground,
/// after ``claim(_:owner:lease:)``).
public struct IngestJobs: Sendable {
    public let store: any IngestJobStore
    public let sources: IngestSourceReader
    let now: @Sendable () -> Date

    public init(
        store: any IngestJobStore, objects: (any ObjectStore)?, now: @escaping @Sendable () -> Date = { Date() }
    ) {
        self.store = store
        self.sources = IngestSourceReader(objects: objects)
        self.now = now
    }

    /// Creates a PENDING job for `source`, or returns the unfinished job of the same source version and options
    /// (`created` false): running the same file again resumes its job. Validates the options first
    /// (``FieldViolation`` naming the option) and reads the source's version (``IngestJobError/Code/source``).
    public func create(
        source: IngestSource, options: IngestJobOptions, dataset: DatasetPeriod? = nil,
        version: IngestSourceVersion? = nil
    ) async throws -> (job: IngestJob, created: Bool) {
        let options = try options.validated()
        let sourceVersion: IngestSourceVersion
        if let version { sourceVersion = version } else { sourceVersion = try await sources.version(of: source) }
        let version = sourceVersion
        let job = NewIngestJob(
            source: source, sourceVersion: version, options: options,
            fingerprint: Self.fingerprint(source: source, version: version, options: options), dataset: dataset)
        return try await store.create(job, now: now())
    }

    /// The unfinished job (PENDING or IN_PROGRESS) that running `source` with `options` again would resume.
    public func findUnfinished(matching source: IngestSource, options: IngestJobOptions) async throws -> IngestJob? {
        let options = try options.validated()
        let version = try await sources.version(of: source)
        return try await store.findUnfinished(
            fingerprint: Self.fingerprint(source: source, version: version, options: options))
    }

    public func job(_ id: IngestJobID) async throws -> IngestJob? {
        try await store.find(id)
    }

    /// The newest jobs first (`limit` clamped to 1...1,000).
    public func list(status: IngestJobStatus? = nil, limit: Int = 100) async throws -> [IngestJob] {
        try await store.list(status: status, limit: limit)
    }

    /// Cancels a PENDING or IN_PROGRESS job; a running one stops before its next batch. Throws
    /// ``IngestJobError/Code/notFound`` or ``IngestJobError/Code/invalidTransition`` (a job that already ended).
    public func cancel(_ id: IngestJobID) async throws -> IngestJob {
        try await store.cancel(id, now: now())
    }

    /// Takes `id` for a foreground run (`meridian ingest jobs resume`): nil when another runner holds a live lease
    /// on it or it ended.
    public func claim(_ id: IngestJobID, owner: String, lease: Duration = .seconds(60)) async throws -> IngestJob? {
        let time = now()
        return try await store.claim(id, owner: owner, leaseUntil: time + lease.timeInterval, now: time)
    }

    /// The active job of a dataset period, if any.
    func activeJob(for period: DatasetPeriod) async throws -> IngestJob? {
        try await store.activeJob(for: period)
    }

    /// SHA-256 over the source (kind, location, size, version) and the options (sorted-key JSON), in hex.
    public static func fingerprint(source: IngestSource, version: IngestSourceVersion, options: IngestJobOptions) -> String {
        var hash = SHA256()
        let head = "\(source.kind)\n\(source.location)\n\(version.size)\n\(version.version)\n"
        hash.update(data: Array(head.utf8))
        hash.update(data: (try? SQLIngestJobStore.encoder.encode(options)) ?? Data())
        return hash.finalize().map { byte in
            let text = String(byte, radix: 16)
            return byte < 16 ? "0" + text : text
        }.joined()
    }
}
