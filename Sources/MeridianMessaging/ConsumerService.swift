import Logging
import MeridianCore
import ServiceLifecycle

/// Runs a consumer group until graceful shutdown: each record's event goes to `handle` through
/// ``EventHandling`` (retries, dead letters, one key in order, the pipeline kept full), offsets are committed
/// once the records before them are done (at-least-once), and the consumer is closed at the end. A record
/// that could not even be dead-lettered stops the service, so it is delivered again.
public struct ConsumerService: Service {
    let eventLog: any EventLog
    let options: ConsumerOptions
    let handling: EventHandling
    let logger: Logger
    let handle: @Sendable (CloudEvent) async throws -> Void
    let ready: @Sendable () async -> Void

    /// - Parameter ready: awaited before consuming (for example until the migrations ran).
    public init(
        eventLog: any EventLog,
        options: ConsumerOptions,
        handling: EventHandling,
        logger: Logger,
        ready: @escaping @Sendable () async -> Void = {},
        handle: @escaping @Sendable (CloudEvent) async throws -> Void
    ) {
        self.ready = ready
        self.eventLog = eventLog
        self.options = options
        self.handling = handling
        self.logger = logger
        self.handle = handle
    }

    public func run() async throws {
        await cancelWhenGracefulShutdown { await ready() }
        guard !Task.isShuttingDownGracefully else { return }
        let consumer = try await eventLog.makeConsumer(options)
        do {
            try await cancelWhenGracefulShutdown {
                try await handling.consume(consumer, handle)
            }
        } catch is CancellationError {
            // Graceful shutdown: what was handled is committed; what was not comes again.
        } catch {
            logger.error("consumer stopped", metadata: ["group": "\(options.group ?? "-")", "error": "\(error)"])
            await consumer.close()
            throw error
        }
        await consumer.close()
    }
}
