import Foundation

/// Seconds on a monotonic clock, the time base of ``Admission`` and ``TokenBucket``.
public let monotonicSeconds: @Sendable () -> Double = {
    Double(DispatchTime.now().uptimeNanoseconds) / 1_000_000_000
}

/// The ingest admission state machine: rate limits, the in-flight budget and draining.
///
/// A value type with no I/O; the caller keeps it behind a lock and acts on the returned decision.
/// Memory is bounded: at most `maxClients` per-client buckets are kept, and full buckets (which hold
/// no state) are dropped first when room is needed.
public struct Admission: Sendable {
    /// Limits of the admission. Rates are events per second; zero turns a limit off.
    public struct Configuration: Sendable, Hashable {
        /// Events per second for all clients together. Default 0 (off).
        public var globalRate: Double = 0
        /// Burst of the global bucket. Default 0 (= one second of `globalRate`).
        public var globalBurst: Double = 0
        /// Events per second for one client (API key, else remote address). Default 0 (off).
        public var clientRate: Double = 0
        /// Burst of a client bucket. Default 0 (= one second of `clientRate`).
        public var clientBurst: Double = 0
        /// Client buckets kept at most. Default 10,000.
        public var maxClients: Int = 10_000
        /// Events admitted and not yet answered, at most. Default 10,000.
        public var maxInflightEvents: Int = 10_000
        /// Bytes of events admitted and not yet answered, at most. Default 64 MiB.
        public var maxInflightBytes: Int = 64 * 1_048_576
        /// Seconds a shed client is told to wait (`Retry-After`). Default 1.
        public var shedRetryAfter: Double = 1

        public init() {}
    }

    public enum Decision: Sendable, Hashable {
        case admitted
        case rateLimited(retryAfter: Double)
        case shed(retryAfter: Double)
        case draining
    }

    public let configuration: Configuration
    private var global: TokenBucket?
    private var clients: [String: TokenBucket] = [:]
    public private(set) var inflightEvents = 0
    public private(set) var inflightBytes = 0
    public private(set) var isDraining = false

    public init(configuration: Configuration, now: Double) {
        self.configuration = configuration
        if configuration.globalRate > 0 {
            global = TokenBucket(
                rate: configuration.globalRate,
                burst: configuration.globalBurst > 0 ? configuration.globalBurst : configuration.globalRate,
                now: now)
        }
    }

    /// Decides on `events` events of `bytes` bytes from `client`; when admitted they count as in flight
    /// until ``release(events:bytes:)``.
    public mutating func admit(client: String, events: Int, bytes: Int, now: Double) -> Decision {
        if isDraining { return .draining }
        if inflightEvents > 0,
            inflightEvents + events > configuration.maxInflightEvents
                || inflightBytes + bytes > configuration.maxInflightBytes
        {
            return .shed(retryAfter: configuration.shedRetryAfter)
        }
        let cost = Double(events)
        if var bucket = global {
            if case .denied(let wait) = bucket.take(cost, now: now) {
                global = bucket
                return .rateLimited(retryAfter: wait)
            }
            global = bucket
        }
        if configuration.clientRate > 0 {
            var bucket = clients[client] ?? makeClientBucket(now: now)
            if case .denied(let wait) = bucket.take(cost, now: now) {
                clients[client] = bucket
                global?.giveBack(cost)
                return .rateLimited(retryAfter: wait)
            }
            clients[client] = bucket
        }
        inflightEvents += events
        inflightBytes += bytes
        return .admitted
    }

    /// Ends the in-flight accounting of admitted events.
    public mutating func release(events: Int, bytes: Int) {
        inflightEvents -= events
        inflightBytes -= bytes
        precondition(inflightEvents >= 0 && inflightBytes >= 0, "released more than admitted")
    }

    /// Refuses everything from now on; in-flight events still finish.
    public mutating func startDraining() {
        isDraining = true
    }

    /// Number of client buckets held.
    public var clientCount: Int { clients.count }

    private mutating func makeClientBucket(now: Double) -> TokenBucket {
        if clients.count >= configuration.maxClients {
            let full = clients.filter { $0.value.isFull(now: now) }.map(\.key)
            for key in full { clients[key] = nil }
            if clients.count >= configuration.maxClients, let victim = clients.keys.first {
                clients[victim] = nil
            }
        }
        let burst = configuration.clientBurst > 0 ? configuration.clientBurst : configuration.clientRate
        return TokenBucket(rate: configuration.clientRate, burst: burst, now: now)
    }
}
