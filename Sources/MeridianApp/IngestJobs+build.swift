import Logging
import MeridianCore
import MeridianIngest
import MeridianIngestJobs
import MeridianStorage
import ServiceLifecycle

/// The ingest-jobs role: the jobs' API and the service that runs them, `ingest.jobConcurrency` at a time, once the
/// migrations ran.
public func buildIngestJobs(_ context: CommerceContext) -> CommerceParts {
    let settings = context.settings
    let store = SQLIngestJobStore(store: context.store)
    let jobs = IngestJobs(store: store, objects: context.objects)
    var parts = CommerceParts()
    parts.routes.append(
        IngestJobsController(
            jobs: jobs, objects: context.objects, apiKeys: settings.ingest.apiKeys,
            defaults: settings.ingestJobs.options(type: "csv.row"), logger: context.logger))
    let runner = CSVIngestRunner(
        configuration: settings.ingestJobs.runner(topics: settings.topics), store: store, eventLog: context.eventLog,
        objects: context.objects, metrics: IngestMetrics(factory: context.metrics), logger: context.logger)
    var configuration = CSVIngestService.Configuration()
    configuration.concurrency = settings.ingestJobs.concurrency
    parts.workers.append(
        AfterReady(ready: context.ready, service: CSVIngestService(configuration: configuration, runner: runner)))
    return parts
}

/// Runs `service` once `ready` returns (the migrations ran).
struct AfterReady: Service {
    let ready: @Sendable () async -> Void
    let service: any Service

    func run() async throws {
        await ready()
        try await service.run()
    }
}
