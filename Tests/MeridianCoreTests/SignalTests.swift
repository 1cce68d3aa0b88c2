import Synchronization
import Testing

@testable import MeridianCore

/// Wake-ups without polling: a change is never missed, a wait never outlives its timeout or task.
@Suite struct SignalTests {
    @Test func aSignalWakesTheWatchersOfItsKeyOnly() async throws {
        let signal = KeyedSignal<String, Int>()
        let a = signal.watch("a")
        let b = signal.watch("b")
        let start = ContinuousClock.now
        async let woken = signal.wait(a, timeout: .seconds(30))
        try await Task.sleep(for: .milliseconds(20))
        signal.signal("a", 42)
        #expect(await woken == 42)
        #expect(
            start.duration(to: .now) < .seconds(20), "woken, not timed out (30 s); a busy test run can delay a task by seconds")
        // "b" was not signalled: its wait ends by the timeout, without a value.
        let before = ContinuousClock.now
        #expect(await signal.wait(b, timeout: .milliseconds(50)) == nil)
        #expect(before.duration(to: .now) >= .milliseconds(50))
        #expect(signal.watchedKeys == 0)
    }

    @Test func aSignalBetweenTheWatchAndTheWaitIsNotMissed() async {
        let signal = KeyedSignal<Int, String>()
        let watch = signal.watch(1)
        signal.signal(1, "changed")
        let start = ContinuousClock.now
        #expect(await signal.wait(watch, timeout: .seconds(30)) == "changed")
        #expect(
            start.duration(to: .now) < .seconds(20), "woken, not timed out (30 s); a busy test run can delay a task by seconds")
        #expect(signal.watchedKeys == 0)
    }

    @Test func aCancelledWaitReturnsAtOnce() async {
        let signal = KeyedSignal<Int, Int>()
        let task = Task {
            let watch = signal.watch(7)
            return await signal.wait(watch, timeout: .seconds(30))
        }
        try? await Task.sleep(for: .milliseconds(20))
        let start = ContinuousClock.now
        task.cancel()
        #expect(await task.value == nil)
        #expect(
            start.duration(to: .now) < .seconds(20), "woken, not timed out (30 s); a busy test run can delay a task by seconds")
        #expect(signal.watchedKeys == 0)
    }

    @Test func aChangeSignalWaitReturnsOnceTheVersionMovedOn() async {
        let signal = ChangeSignal()
        let seen = signal.version
        signal.signal()
        let start = ContinuousClock.now
        await signal.wait(after: seen, timeout: .seconds(30))
        #expect(
            start.duration(to: .now) < .seconds(20), "woken, not timed out (30 s); a busy test run can delay a task by seconds")
        let now = signal.version
        async let woken: Void = signal.wait(after: now, timeout: .seconds(30))
        try? await Task.sleep(for: .milliseconds(20))
        signal.signal()
        await woken
        #expect(
            start.duration(to: .now) < .seconds(20), "woken, not timed out (30 s); a busy test run can delay a task by seconds")
    }
}
