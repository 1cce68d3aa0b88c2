import Foundation
import MeridianCore
import Testing

@testable import MeridianAnalytics

/// A count per window, for the engine's rules alone.
struct Count: WindowAccumulator {
    var value = 0
    init() {}
}

/// The window engine's rules (CONTRACTS.md "Analytics jobs"), without I/O: watermarks per partition, idleness,
/// emission when the watermark passes a window's end, revisions within the allowed lateness, refusal past it.
@Suite struct WindowEngineTests {
    typealias Engine = WindowEngine<Count>

    /// Seconds as the engine's milliseconds.
    func s(_ seconds: Double) -> Int64 { Int64(seconds * 1000) }

    func engine(idle: Int64? = 30_000) -> Engine {
        var configuration = Engine.Configuration()
        configuration.idleTimeout = idle
        return Engine(configuration: configuration)
    }

    @discardableResult
    func add(_ engine: inout Engine, at time: Int64, partition: Int = 0, key: String = "k", now: Int64? = nil)
        -> Engine.Outcome
    {
        engine.observe(time: time, partition: partition, key: key, now: now ?? time) { $0.value += 1 }
    }

    @Test func windowsAreTumblingOnEventTimeAndCloseWhenTheWatermarkPassesTheirEnd() {
        var engine = engine(idle: nil)
        #expect(engine.windowStart(of: s(59.999)) == 0)
        #expect(engine.windowStart(of: s(60)) == s(60))
        #expect(engine.windowStart(of: -1) == -s(60), "floor division before 1970")
        add(&engine, at: s(10))
        add(&engine, at: s(50), key: "other")
        add(&engine, at: s(62))
        // The watermark is 62 - 5 = 57 s: the first minute is still open.
        #expect(engine.advance(now: s(62)).isEmpty)
        #expect(engine.open.map(\.window.key) == ["k", "other", "k"])
        // Out of order within the 5 s bound: still on time.
        #expect(add(&engine, at: s(58)) == .accepted)
        add(&engine, at: s(66))
        let emitted = engine.advance(now: s(66))
        #expect(emitted.map(\.window) == [.init(start: 0, key: "k"), .init(start: 0, key: "other")])
        #expect(emitted.map(\.state.value) == [2, 1])
        #expect(emitted.allSatisfy { $0.revision == 1 && $0.end == s(60) })
        #expect(engine.watermark == s(61))
        // Nothing twice.
        #expect(engine.advance(now: s(66)).isEmpty)
    }

    @Test func aLateEventWithinTheLatenessRevisesItsWindowAndALaterOneIsRefused() {
        var engine = engine(idle: nil)
        add(&engine, at: s(10))
        add(&engine, at: s(70))
        #expect(engine.advance(now: s(70)).map(\.state.value) == [1])
        // 30 s after the window's end, within the 60 s lateness: revision 2 at once, with both events.
        guard case .revised(let revision) = add(&engine, at: s(20)) else {
            Issue.record("a late event within the lateness revises its window")
            return
        }
        #expect(revision.revision == 2 && revision.state.value == 2 && revision.window.start == 0)
        // The watermark passes the window's end + lateness (60 + 60 s): the window is forgotten, then refused.
        add(&engine, at: s(126))
        _ = engine.advance(now: s(126))
        #expect(add(&engine, at: s(30)) == .tooLate)
        #expect(!engine.open.contains { $0.window.start == 0 })
    }

    @Test func theSlowestActivePartitionHoldsTheWatermarkUntilItIsIdle() {
        var engine = engine(idle: 30_000)
        add(&engine, at: s(100), partition: 0, now: s(100))
        add(&engine, at: s(10), partition: 1, now: s(100))
        // min(100, 10) - 5: the first minute is not closed by partition 0 alone.
        #expect(engine.advance(now: s(100)).isEmpty)
        #expect(engine.watermark == s(5))
        // Partition 1 is silent for more than 30 s: it stops holding the watermark back.
        add(&engine, at: s(135), partition: 0, now: s(135))
        let emitted = engine.advance(now: s(135))
        #expect(emitted.map(\.window.start) == [0, s(60)], "\(emitted)")
        #expect(engine.watermark == s(130))
    }

    @Test func anExpectedPartitionHoldsTheWatermarkUntilItDeliversOrIsIdleAndARestartGivesEachAFreshTimeout() {
        var engine = engine(idle: 30_000)
        engine.expect(partitions: [0, 1], now: s(100))
        add(&engine, at: s(100), partition: 0, now: s(100))
        // Partition 1 has delivered nothing yet: the first minute stays open, and its event is on time.
        #expect(engine.advance(now: s(100)).isEmpty)
        #expect(add(&engine, at: s(20), partition: 1, now: s(101)) == .accepted)
        #expect(engine.advance(now: s(101)).isEmpty)
        #expect(engine.watermark == s(15))
        // A restart 10 minutes later: partition 1's silence while the job was down does not make it idle.
        engine.expect(partitions: [0, 1, 2], now: s(700))
        add(&engine, at: s(200), partition: 0, now: s(700))
        #expect(engine.advance(now: s(700)).isEmpty)
        #expect(engine.watermark == s(15))
        // Partitions 1 and 2 silent for 30 s more: idle, partition 0 alone moves the watermark.
        add(&engine, at: s(201), partition: 0, now: s(731))
        #expect(engine.advance(now: s(731)).map(\.window.start) == [0, s(60)])
        #expect(engine.watermark == s(196))
    }

    @Test func whenEveryPartitionIsIdleTheWatermarkFollowsTheWallClock() {
        var engine = engine(idle: 30_000)
        add(&engine, at: s(10), now: s(11))
        #expect(engine.advance(now: s(11)).isEmpty)
        // A quiet shop: no event for a minute; the window closes by the clock.
        let emitted = engine.advance(now: s(70))
        #expect(emitted.map(\.state.value) == [1])
        #expect(engine.watermark == s(65))
        #expect(engine.lag(now: s(70)) == s(5))
    }

    @Test func theWatermarkNeverGoesBackAndHugeTimesNeverTrap() {
        var engine = engine(idle: nil)
        add(&engine, at: s(100))
        _ = engine.advance(now: s(100))
        add(&engine, at: s(50), partition: 1)
        _ = engine.advance(now: s(100))
        #expect(engine.watermark == s(95))
        // Extreme times: counted or refused, never a crash.
        add(&engine, at: .max, partition: 2)
        add(&engine, at: .min, partition: 3)
        _ = engine.advance(now: .max)
        let rest = engine.finish()
        #expect(rest.count >= 1)
        #expect(engine.open.isEmpty)
    }

    @Test func theStateSurvivesACheckpoint() throws {
        var engine = engine(idle: nil)
        add(&engine, at: s(10))
        add(&engine, at: s(20), partition: 1)
        let saved = try JSONEncoder().encode(engine)
        var restored = try JSONDecoder().decode(Engine.self, from: saved)
        add(&restored, at: s(70))
        add(&restored, at: s(70), partition: 1)
        #expect(restored.advance(now: s(70)).map(\.state.value) == [2])
    }
}
