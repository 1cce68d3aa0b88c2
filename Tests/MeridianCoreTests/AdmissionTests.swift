import Testing

@testable import MeridianCore

@Suite struct TokenBucketTests {
    @Test func grantsUpToTheBurstThenRefillsAtTheRate() {
        var bucket = TokenBucket(rate: 10, burst: 5, now: 0)
        for _ in 0..<5 { #expect(bucket.take(1, now: 0) == .granted) }
        guard case .denied(let wait) = bucket.take(1, now: 0) else {
            Issue.record("the sixth token must be denied")
            return
        }
        #expect(abs(wait - 0.1) < 0.0001)
        #expect(bucket.take(1, now: 0.1) == .granted)
        #expect(bucket.take(5, now: 10) == .granted)  // never more than the burst
        #expect(bucket.take(1, now: 10) != .granted)
    }

    @Test func giveBackNeverExceedsTheBurst() {
        var bucket = TokenBucket(rate: 1, burst: 2, now: 0)
        _ = bucket.take(1, now: 0)
        bucket.giveBack(5)
        #expect(bucket.tokens == 2)
    }
}

@Suite struct AdmissionTests {
    func configuration(_ change: (inout Admission.Configuration) -> Void) -> Admission.Configuration {
        var configuration = Admission.Configuration()
        change(&configuration)
        return configuration
    }

    @Test func globalRateLimit() {
        var admission = Admission(configuration: configuration { $0.globalRate = 2 }, now: 0)
        #expect(admission.admit(client: "a", events: 1, bytes: 1, now: 0) == .admitted)
        #expect(admission.admit(client: "b", events: 1, bytes: 1, now: 0) == .admitted)
        guard case .rateLimited(let wait) = admission.admit(client: "c", events: 1, bytes: 1, now: 0) else {
            Issue.record("expected a rate limit")
            return
        }
        #expect(wait > 0)
    }

    @Test func perClientRateLimitLeavesOtherClientsAlone() {
        var admission = Admission(configuration: configuration { $0.clientRate = 1 }, now: 0)
        #expect(admission.admit(client: "a", events: 1, bytes: 1, now: 0) == .admitted)
        #expect(admission.admit(client: "a", events: 1, bytes: 1, now: 0) != .admitted)
        #expect(admission.admit(client: "b", events: 1, bytes: 1, now: 0) == .admitted)
    }

    @Test func clientRefusalGivesTheGlobalTokensBack() {
        var admission = Admission(
            configuration: configuration {
                $0.globalRate = 2
                $0.clientRate = 1
            }, now: 0)
        #expect(admission.admit(client: "a", events: 1, bytes: 1, now: 0) == .admitted)
        #expect(admission.admit(client: "a", events: 1, bytes: 1, now: 0) != .admitted)
        #expect(admission.admit(client: "b", events: 1, bytes: 1, now: 0) == .admitted)
    }

    @Test func inflightBudgetShedsUntilReleased() {
        var admission = Admission(
            configuration: configuration {
                $0.maxInflightEvents = 3
                $0.maxInflightBytes = 1000
            }, now: 0)
        #expect(admission.admit(client: "a", events: 2, bytes: 10, now: 0) == .admitted)
        #expect(admission.admit(client: "a", events: 2, bytes: 10, now: 0) == .shed(retryAfter: 1))
        #expect(admission.admit(client: "a", events: 1, bytes: 2000, now: 0) == .shed(retryAfter: 1))
        admission.release(events: 2, bytes: 10)
        #expect(admission.inflightEvents == 0)
        #expect(admission.admit(client: "a", events: 3, bytes: 10, now: 0) == .admitted)
    }

    @Test func oversizedRequestIsAdmittedWhenNothingIsInFlight() {
        var admission = Admission(configuration: configuration { $0.maxInflightEvents = 10 }, now: 0)
        #expect(admission.admit(client: "a", events: 50, bytes: 1, now: 0) == .admitted)
    }

    @Test func drainingRefusesEverything() {
        var admission = Admission(configuration: .init(), now: 0)
        admission.startDraining()
        #expect(admission.admit(client: "a", events: 1, bytes: 1, now: 0) == .draining)
    }

    @Test func clientBucketsStayBounded() {
        var admission = Admission(
            configuration: configuration {
                $0.clientRate = 1
                $0.maxClients = 100
            }, now: 0)
        for client in 0..<10_000 {
            _ = admission.admit(client: "c\(client)", events: 1, bytes: 1, now: Double(client) / 1000)
            admission.release(events: 1, bytes: 1)
        }
        #expect(admission.clientCount <= 100)
    }
}

@Suite struct DuplicateWindowTests {
    /// Shorthand: a key from the default source.
    func key(_ id: String) -> DuplicateWindow.Key { DuplicateWindow.Key(source: "/s", id: id) }

    @Test func pendingThenDoneThenExpired() {
        var window = DuplicateWindow(window: 10, capacity: 100)
        #expect(window.begin(key("a"), now: 0) == .new)
        #expect(window.begin(key("a"), now: 1) == .inProgress)
        window.complete(key("a"))
        #expect(window.begin(key("a"), now: 2) == .duplicate)
        #expect(window.begin(key("a"), now: 11) == .new)
    }

    @Test func theSameIdFromAnotherSourceIsNotADuplicate() {
        var window = DuplicateWindow(window: 10, capacity: 100)
        #expect(window.begin(DuplicateWindow.Key(source: "/a", id: "1"), now: 0) == .new)
        window.complete(DuplicateWindow.Key(source: "/a", id: "1"))
        #expect(window.begin(DuplicateWindow.Key(source: "/b", id: "1"), now: 0) == .new)
        #expect(window.begin(DuplicateWindow.Key(source: "/a", id: "1"), now: 0) == .duplicate)
    }

    @Test func abandonedIdsCanBeRetried() {
        var window = DuplicateWindow(window: 10, capacity: 100)
        #expect(window.begin(key("a"), now: 0) == .new)
        window.abandon(key("a"))
        #expect(window.begin(key("a"), now: 1) == .new)
    }

    @Test func capacityBoundsMemory() {
        var window = DuplicateWindow(window: 1_000, capacity: 50)
        for index in 0..<1_000 {
            #expect(window.begin(key("id\(index)"), now: 0) == .new)
            window.complete(key("id\(index)"))
        }
        #expect(window.count <= 50)
        #expect(window.begin(key("id999"), now: 0) == .duplicate)
        #expect(window.begin(key("id0"), now: 0) == .new)
    }
}
