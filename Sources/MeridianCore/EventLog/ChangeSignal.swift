import Synchronization

/// Wakes waiters when something changed (the event log got records, a store committed), so readers
/// block instead of polling on a timer.
public final class ChangeSignal: Sendable {
    private let changes = Atomic<UInt64>(0)
    private let waiters = KeyedSignal<Bool, Void>()

    public init() {}

    /// Moves on with every ``signal()``.
    public var version: UInt64 { changes.load(ordering: .acquiring) }

    /// Wakes every waiter.
    public func signal() {
        changes.add(1, ordering: .releasing)
        waiters.signal(true, ())
    }

    /// Returns when the version moves past `seen`, after `timeout`, or on cancellation, whichever is first.
    public func wait(after seen: UInt64, timeout: Duration) async {
        let watch = waiters.watch(true)
        // A signal after `seen` was read and before the watch began is seen here.
        guard version == seen else { return waiters.end(watch) }
        await waiters.wait(watch, timeout: timeout)
    }
}
