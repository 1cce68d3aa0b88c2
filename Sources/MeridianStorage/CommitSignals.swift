import MeridianCore
import Synchronization

/// Wakes a service's outbox relay once a transaction that wrote to its outbox has committed, so the relay
/// neither polls on a short timer nor queries after every unrelated commit. Each store has its own.
///
/// A store runs each transaction through ``afterCommit(_:)``, which gives the body a task-local collector;
/// ``Outbox/enqueue(_:service:in:)`` notes its service there; after the commit each noted service's signal
/// fires. Rows written by another process are seen by the relay's idle poll.
public final class CommitSignals: Sendable {
    final class Collector: Sendable {
        let services = Mutex<Set<String>>([])
    }

    @TaskLocal static var collector: Collector?
    private let signals = Mutex<[String: ChangeSignal]>([:])

    public init() {}

    /// The signal of `service`'s relay.
    public func signal(for service: String) -> ChangeSignal {
        signals.withLock { signals in
            if let signal = signals[service] { return signal }
            let signal = ChangeSignal()
            signals[service] = signal
            return signal
        }
    }

    /// Notes, inside a transaction, that it wrote outbox records of `service`.
    static func written(by service: String) {
        if let collector { collector.services.withLock { _ = $0.insert(service) } }
    }

    /// Runs a transaction (`body` commits when it returns), then wakes the relays of the services it wrote for.
    public func afterCommit<Result>(_ body: () async throws -> Result) async throws -> Result {
        let collector = Collector()
        let result = try await Self.$collector.withValue(collector) { try await body() }
        for service in collector.services.withLock({ $0 }) { signal(for: service).signal() }
        return result
    }
}
