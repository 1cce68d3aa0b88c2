import Foundation
import MeridianContracts
import MeridianCore
import Synchronization

/// ``AccountStatus`` with a short memory: an answer is trusted for `ttl`, so a request costs no lookup most of
/// the time; the process that disables a user forgets its answer at once (``forget(_:)``), other processes
/// within `ttl`. When the users service cannot be asked, the last answer (however old) stands; with none, the
/// error goes to the caller (a 503).
public final class CachedAccountStatus: AccountStatus {
    private let upstream: any AccountStatus
    private let ttl: Duration
    private let clock: @Sendable () -> Double
    private let answers = Mutex<[UserID: (active: Bool, at: Double)]>([:])
    /// Answers kept at most; the oldest half is dropped beyond it.
    private let capacity = 100_000

    public init(upstream: any AccountStatus, ttl: Duration, clock: @escaping @Sendable () -> Double = monotonicSeconds) {
        self.upstream = upstream
        self.ttl = ttl
        self.clock = clock
    }

    public func isActive(_ userID: UserID) async throws -> Bool {
        let now = clock()
        let ttlSeconds = ttl.timeInterval
        let cached = answers.withLock { $0[userID] }
        if let cached, now - cached.at < ttlSeconds { return cached.active }
        let active: Bool
        do {
            active = try await upstream.isActive(userID)
        } catch {
            if let cached { return cached.active }
            throw error
        }
        answers.withLock { answers in
            if answers.count >= capacity {
                for key in answers.sorted(by: { $0.value.at < $1.value.at }).prefix(capacity / 2).map(\.key) {
                    answers[key] = nil
                }
            }
            answers[userID] = (active, now)
        }
        return active
    }

    /// Forgets the answer about `userID` (its account changed in this process).
    public func forget(_ userID: UserID) {
        _ = answers.withLock { $0.removeValue(forKey: userID) }
    }
}
