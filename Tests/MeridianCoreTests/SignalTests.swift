import Synchronization
import Testing

@testable import MeridianCore

/// Wake-ups without polling: a change is never missed, a wait never outlives its timeout or task.
@Suite struct SignalTests {
    @Test func aSignalWakesTheWatchersOfItsKeyOnly() async throws {
        let signal = KeyedSignal<String>()
        let a = signal.watch("a")
        let b = signal.watch("b")
        let start = ContinuousClock.now
        async let woken: Void = signal.wait(a, timeout: .seconds(30))
        try await Task.sleep(for: .milliseconds(20))
        signal.signal("a")
        await woken
        #expect(start.duration(to: .now) < .seconds(5))
        // "b" was not signalled: its wait ends by the timeout.
        let before = ContinuousClock.now
        await signal.wait(b, timeout: .milliseconds(50))
        #expect(before.duration(to: .now) >= .milliseconds(50))
        #expect(signal.watchedKeys == 0)
    }

    @Test func aSignalBetweenTheWatchAndTheWaitIsNotMissed() async {
        let signal = KeyedSignal<Int>()
        let watch = signal.watch(1)
        signal.signal(1)
        let start = ContinuousClock.now
        await signal.wait(watch, timeout: .seconds(30))
        #expect(start.duration(to: .now) < .seconds(5))
        #expect(signal.watchedKeys == 0)
    }

    @Test func aCancelledWaitReturnsAtOnce() async {
        let signal = KeyedSignal<Int>()
        let task = Task {
            let watch = signal.watch(7)
            await signal.wait(watch, timeout: .seconds(30))
        }
        try? await Task.sleep(for: .milliseconds(20))
        let start = ContinuousClock.now
        task.cancel()
        await task.value
        #expect(start.duration(to: .now) < .seconds(5))
        #expect(signal.watchedKeys == 0)
    }

    @Test func aChangeSignalWaitReturnsOnceTheVersionMovedOn() async {
        let signal = ChangeSignal()
        let seen = signal.version
        signal.signal()
        let start = ContinuousClock.now
        await signal.wait(after: seen, timeout: .seconds(30))
        #expect(start.duration(to: .now) < .seconds(5))
        let now = signal.version
        async let woken: Void = signal.wait(after: now, timeout: .seconds(30))
        try? await Task.sleep(for: .milliseconds(20))
        signal.signal()
        await woken
        #expect(start.duration(to: .now) < .seconds(5))
    }
}
