import Foundation
import Logging
import MeridianCore
import MeridianIngestJobs
import MeridianS3
import MeridianStorage
import Metrics
import ServiceLifecycle
import Synchronization
import UnixSignals

/// The ingest jobs of a data dir or database, opened by the command line (`meridian ingest …`) without a server: the
/// store (migrated), and for running jobs the event log and the object store the settings name. A server holding the
/// same embedded data dir makes the open fail with the data dir's lock error (use `--target` then).
public struct LocalIngestJobs: Sendable {
    public let settings: MeridianSettings
    public let jobs: IngestJobs
    /// Nil when opened without the event log (listing, showing, cancelling).
    public let runner: CSVIngestRunner?
    public let objects: (any ObjectStore)?
    /// True once SIGINT or SIGTERM asked the command to stop: a running job stops after its current batch.
    public let shouldStop: @Sendable () -> Bool

    /// Opens the store (and, `withEventLog`, the event log) of `settings` as services of one group stopped by SIGINT
    /// and SIGTERM, runs `body`, then stops them. Errors opening them are ``StartupError``s naming the setting.
    public static func with<Result: Sendable>(
        settings: MeridianSettings, withEventLog: Bool, logger: Logger, metrics: any MetricsFactory,
        _ body: @escaping @Sendable (LocalIngestJobs) async throws -> Result
    ) async throws -> Result {
        let objects: (any ObjectStore)?
        do {
            objects = try settings.objects.makeStore()
        } catch {
            throw StartupError(.cannotCreate, "cannot open the object store: \(error) (objects.url)")
        }
        let store: SQLStoreService
        do {
            store = try await buildStore(settings: settings, logger: logger)
        } catch {
            throw StartupError(
                .unavailable, "cannot open the database \(redacted(settings.storageURL)): \(error) (storage.url)")
        }
        var services: [any Service] = [store]
        let jobStore = SQLIngestJobStore(store: store)
        var runner: CSVIngestRunner?
        var eventLog: EventLogService?
        do {
            _ = try await migrate(store, roles: [.ingestJobs])
            if withEventLog {
                let log = try await buildEventLog(settings: settings, logger: logger, metrics: metrics)
                eventLog = log
                services.append(log)
                runner = CSVIngestRunner(
                    configuration: settings.ingestJobs.runner(topics: settings.topics), store: jobStore, eventLog: log,
                    objects: objects, metrics: IngestMetrics(factory: metrics), logger: logger)
            }
        } catch {
            try? await store.close()
            throw error
        }
        let (log, jobRunner) = (eventLog, runner)
        let work = OneShot<Result> { shouldStop in
            if let log { await prepareTopics(log, settings: settings, logger: logger) }
            return try await body(
                LocalIngestJobs(
                    settings: settings, jobs: IngestJobs(store: jobStore, objects: objects), runner: jobRunner, objects: objects,
                    shouldStop: shouldStop))
        }
        var configuration = ServiceGroupConfiguration(
            services: services.map { ServiceGroupConfiguration.ServiceConfiguration(service: $0) } + [
                .init(service: work, successTerminationBehavior: .gracefullyShutdownGroup)
            ],
            gracefulShutdownSignals: [.sigterm, .sigint], logger: logger)
        configuration.maximumGracefulShutdownDuration = settings.shutdownTimeout
        try await ServiceGroup(configuration: configuration).run()
        guard let result = work.result.withLock({ $0 }) else { throw CancellationError() }
        return try result.get()
    }

    /// The source a command-line argument names: `s3://BUCKET/KEY` (the bucket of `objects.url`), a file that exists,
    /// or else a key of the object store.
    public func source(_ argument: String) throws -> IngestSource {
        if argument.hasPrefix("s3://") {
            let rest = argument.dropFirst("s3://".count)
            guard let slash = rest.firstIndex(of: "/"), case .s3(let bucket, _) = settings.objects.backend,
                rest[..<slash] == bucket.bucket, let key = ObjectKey(rawValue: String(rest[rest.index(after: slash)...]))
            else {
                throw StartupError(
                    .configuration, "\(argument) is not an object of the store objects.url names (\(settings.objects.location))")
            }
            return .object(key)
        }
        if FileManager.default.fileExists(atPath: argument) {
            return .file(path: URL(fileURLWithPath: argument).standardizedFileURL.path)
        }
        if let key = ObjectKey(rawValue: argument) { return .object(key) }
        throw StartupError(.configuration, "\(argument): no such file, and not an object key")
    }
}

/// A service that runs `body` once, with a question telling it whether a graceful shutdown began, and keeps what it
/// returned; the group stops when it is done.
private final class OneShot<Value: Sendable>: Service, Sendable {
    let body: @Sendable (@escaping @Sendable () -> Bool) async throws -> Value
    let result = Mutex<Result<Value, any Error>?>(nil)
    private let stopping = Atomic(false)

    init(_ body: @escaping @Sendable (@escaping @Sendable () -> Bool) async throws -> Value) {
        self.body = body
    }

    func run() async throws {
        await withGracefulShutdownHandler {
            let outcome: Result<Value, any Error>
            do {
                outcome = .success(try await body { self.stopping.load(ordering: .acquiring) })
            } catch {
                outcome = .failure(error)
            }
            result.withLock { $0 = outcome }
        } onGracefulShutdown: {
            self.stopping.store(true, ordering: .releasing)
        }
    }
}
