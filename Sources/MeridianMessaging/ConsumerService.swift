import Logging
import MeridianCore
import ServiceLifecycle

/// Runs a handler over a consumer group's records until graceful shutdown, then closes the consumer
/// (which commits what was processed). Offsets are committed only after the handler returned
/// (at-least-once); a handler that throws stops the service, so the batch is delivered again.
public struct ConsumerService: Service {
    let eventLog: any EventLog
    let options: ConsumerOptions
    let logger: Logger
    let handler: @Sendable ([ConsumedRecord]) async throws -> Void
    let ready: @Sendable () async -> Void

    /// - Parameter ready: awaited before consuming (for example until the migrations ran).
    public init(
        eventLog: any EventLog,
        options: ConsumerOptions,
        logger: Logger,
        ready: @escaping @Sendable () async -> Void = {},
        handler: @escaping @Sendable ([ConsumedRecord]) async throws -> Void
    ) {
        self.ready = ready
        self.eventLog = eventLog
        self.options = options
        self.logger = logger
        self.handler = handler
    }

    public func run() async throws {
        await cancelWhenGracefulShutdown { await ready() }
        guard !Task.isShuttingDownGracefully else { return }
        let consumer = try await eventLog.makeConsumer(options)
        do {
            try await cancelWhenGracefulShutdown {
                try await consumer.run(handler)
            }
        } catch is CancellationError {
            // Graceful shutdown: a batch the handler finished was committed; one it did not comes again.
        } catch {
            logger.error("consumer stopped", metadata: ["group": "\(options.group ?? "-")", "error": "\(error)"])
            await consumer.close()
            throw error
        }
        await consumer.close()
    }
}
