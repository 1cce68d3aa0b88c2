import Foundation
import Logging
import MeridianCore
import ServiceLifecycle
import Synchronization

/// Runs CSV ingest jobs in the background, at most ``Configuration/concurrency`` at a time: it claims PENDING jobs
/// and IN_PROGRESS jobs whose owner's lease expired (a process that died), so two processes never run the same
/// job. Work starts in `run()`; on graceful shutdown every running job stops between batches, stays IN_PROGRESS
/// with its checkpoint, and its lease is released for the next process.
public struct CSVIngestService: Service {
    public struct Configuration: Sendable {
        /// Jobs run at once by this process. Default 2.
        public var concurrency = 2
        /// How often to look for claimable jobs when none is running or a slot is free. Default 1 s.
        public var pollInterval: Duration = .seconds(1)
        /// How long a failed run waits before any runner retries it. Default 5 s.
        public var retryDelay: Duration = .seconds(5)
        /// This process's name in the `owner` column. Default a random id.
        public var owner = "ingest-" + RandomID.uuidString()

        public init() {}
    }

    public let configuration: Configuration
    public let runner: CSVIngestRunner
    let progress: (@Sendable (IngestProgress) -> Void)?

    public init(
        configuration: Configuration = .init(), runner: CSVIngestRunner,
        progress: (@Sendable (IngestProgress) -> Void)? = nil
    ) {
        self.configuration = configuration
        self.runner = runner
        self.progress = progress
    }

    public func run() async throws {
        let state = RunState()
        let limit = min(max(configuration.concurrency, 1), 64)
        await withGracefulShutdownHandler {
            await withDiscardingTaskGroup { group in
                while !state.stopping.load(ordering: .acquiring), !Task.isCancelled {
                    while state.active.load(ordering: .acquiring) < limit, !state.stopping.load(ordering: .acquiring),
                        let job = await claim()
                    {
                        state.active.add(1, ordering: .acquiringAndReleasing)
                        group.addTask {
                            await self.execute(job, shouldStop: { state.stopping.load(ordering: .acquiring) })
                            state.active.subtract(1, ordering: .acquiringAndReleasing)
                        }
                    }
                    try? await cancelWhenGracefulShutdown { try await Task.sleep(for: configuration.pollInterval) }
                }
                // The group waits here for the running jobs, which stop after their current batch.
            }
        } onGracefulShutdown: {
            state.stopping.store(true, ordering: .releasing)
        }
        try? await updateJobGauge()
    }

    private func claim() async -> IngestJob? {
        let now = runner.now()
        do {
            try? await updateJobGauge()
            return try await runner.store.claim(
                owner: configuration.owner, leaseUntil: now + runner.configuration.leaseDuration.timeInterval, now: now)
        } catch {
            runner.logger.warning("ingest jobs cannot be claimed", metadata: ["error": "\(error)"])
            return nil
        }
    }

    private func execute(_ job: IngestJob, shouldStop: @escaping @Sendable () -> Bool) async {
        runner.logger.info(
            "ingest job claimed",
            metadata: ["job_id": "\(job.id)", "source": "\(job.source)", "offset": "\(job.checkpoint.offset)"])
        do {
            _ = try await runner.run(
                job, owner: configuration.owner, retryDelay: configuration.retryDelay, shouldStop: shouldStop,
                progress: progress)
        } catch {
            // Logged by the runner; the job waits `retryDelay` for its next run.
        }
    }

    private func updateJobGauge() async throws {
        runner.metrics.jobCounts(try await runner.store.countByStatus())
    }
}

/// What a run of the service shares with its jobs' tasks.
private final class RunState: Sendable {
    /// Set by graceful shutdown: claim no more, and every running job stops after its current batch.
    let stopping = Atomic(false)
    /// Jobs running now.
    let active = Atomic(0)
}
