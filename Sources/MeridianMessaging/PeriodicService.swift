import Logging
import ServiceLifecycle

/// Runs a piece of work every `interval` until graceful shutdown: the sweepers are built on it.
/// A round that fails is logged and the next one runs as planned.
public struct PeriodicService: Service {
    let name: String
    let interval: Duration
    let logger: Logger
    let ready: @Sendable () async -> Void
    let work: @Sendable () async throws -> Void

    /// - Parameter ready: awaited before the first round (for example until the migrations ran).
    public init(
        name: String,
        interval: Duration,
        logger: Logger,
        ready: @escaping @Sendable () async -> Void = {},
        work: @escaping @Sendable () async throws -> Void
    ) {
        self.name = name
        self.interval = interval
        self.logger = logger
        self.ready = ready
        self.work = work
    }

    public func run() async throws {
        await cancelWhenGracefulShutdown { await ready() }
        while !Task.isCancelled && !Task.isShuttingDownGracefully {
            do {
                try await work()
            } catch  where error is CancellationError || Task.isCancelled {
                return  // stopping: the round was cut short, not failed
            } catch {
                logger.warning("periodic work failed", metadata: ["service": "\(name)", "error": "\(error)"])
            }
            try? await cancelWhenGracefulShutdown { try await Task.sleep(for: interval) }
        }
    }
}
