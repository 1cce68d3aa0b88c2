/// A token bucket: `rate` tokens a second, holding at most `burst`.
///
/// Time is passed in (seconds on a monotonic clock), so the bucket is pure and testable.
public struct TokenBucket: Sendable, Hashable {
    public let rate: Double
    public let burst: Double
    public private(set) var tokens: Double
    private var updatedAt: Double

    public init(rate: Double, burst: Double, now: Double) {
        self.rate = rate
        self.burst = burst
        self.tokens = burst
        self.updatedAt = now
    }

    /// Takes `count` tokens if they are there; otherwise takes none and returns the seconds to wait.
    public mutating func take(_ count: Double, now: Double) -> TakeResult {
        refill(now: now)
        if tokens >= count {
            tokens -= count
            return .granted
        }
        let missing = min(count, burst) - tokens
        return .denied(retryAfter: rate > 0 ? max(missing / rate, 0.001) : .infinity)
    }

    /// Gives back tokens that were taken for work that was then refused elsewhere.
    public mutating func giveBack(_ count: Double) {
        tokens = min(burst, tokens + count)
    }

    /// True when the bucket is full, i.e. it holds no state worth keeping.
    public func isFull(now: Double) -> Bool {
        var copy = self
        copy.refill(now: now)
        return copy.tokens >= burst
    }

    private mutating func refill(now: Double) {
        if now > updatedAt {
            tokens = min(burst, tokens + (now - updatedAt) * rate)
            updatedAt = now
        }
    }

    public enum TakeResult: Sendable, Hashable {
        case granted
        case denied(retryAfter: Double)
    }
}
