import Foundation
import MeridianAuth
import MeridianContracts
import Testing

/// An account service that counts the questions and can be told to fail.
final class CountingAccounts: AccountStatus, @unchecked Sendable {
    private let lock = NSLock()
    private var disabled: Set<UserID> = []
    private var failing = false
    private(set) var questions = 0

    func isActive(_ userID: UserID) async throws -> Bool {
        try lock.withLock {
            questions += 1
            if failing { throw TokenError("users service down") }
            return !disabled.contains(userID)
        }
    }

    func disable(_ userID: UserID) { lock.withLock { _ = disabled.insert(userID) } }
    func fail(_ value: Bool) { lock.withLock { failing = value } }
}

let ada = UserID("ada")

@Suite struct CachedAccountStatusTests {
    final class Clock: @unchecked Sendable {
        var now = 100.0
    }

    @Test func answersAreTrustedForTheirTimeThenAskedAgain() async throws {
        let upstream = CountingAccounts()
        let clock = Clock()
        let cache = CachedAccountStatus(upstream: upstream, ttl: .seconds(2), clock: { clock.now })
        #expect(try await cache.isActive(ada))
        #expect(try await cache.isActive(ada))
        #expect(upstream.questions == 1)
        upstream.disable(ada)
        clock.now += 1
        #expect(try await cache.isActive(ada), "within the time, the last answer stands")
        clock.now += 1.5
        #expect(try await cache.isActive(ada) == false, "after it, the users service is asked again")
        #expect(upstream.questions == 2)
    }

    @Test func forgettingAnAnswerTakesEffectAtOnce() async throws {
        let upstream = CountingAccounts()
        let cache = CachedAccountStatus(upstream: upstream, ttl: .seconds(60))
        #expect(try await cache.isActive(ada))
        upstream.disable(ada)
        cache.forget(ada)
        #expect(try await cache.isActive(ada) == false)
    }

    @Test func whenTheUsersServiceIsDownTheLastAnswerStandsAndWithoutOneTheErrorGoesUp() async throws {
        let upstream = CountingAccounts()
        let clock = Clock()
        let cache = CachedAccountStatus(upstream: upstream, ttl: .seconds(1), clock: { clock.now })
        #expect(try await cache.isActive(ada))
        upstream.fail(true)
        clock.now += 10
        #expect(try await cache.isActive(ada))
        await #expect(throws: TokenError.self) { try await cache.isActive(UserID("bob")) }
    }
}
