import Synchronization

/// Wakes the tasks waiting for one key (one order, say) when it changes, so they block instead of polling.
///
/// A waiter first ``watch(_:)``es the key, then looks at the thing itself, then ``wait(_:timeout:)``s: a change
/// between the look and the wait is not missed, because the watch saw it. Only keys being watched take memory.
///
/// Written by hand: neither the standard library nor NIO has a keyed wake-up with a timeout.
public final class KeyedSignal<Key: Hashable & Sendable>: Sendable {
    /// One waiter's interest in one key, from ``watch(_:)`` until its ``wait(_:timeout:)`` returns.
    public struct Watch: Sendable {
        let key: Key
        let id: UInt64
    }

    private enum Slot {
        case watching
        /// Signalled, timed out or cancelled before the waiter parked.
        case fired
        case waiting(CheckedContinuation<Void, Never>)
    }

    private struct State {
        var slots: [Key: [UInt64: Slot]] = [:]
        var next: UInt64 = 0
    }

    private let state = Mutex(State())

    public init() {}

    /// Starts watching `key`: signals from now on end the watch's wait.
    public func watch(_ key: Key) -> Watch {
        state.withLock { state in
            state.next &+= 1
            state.slots[key, default: [:]][state.next] = .watching
            return Watch(key: key, id: state.next)
        }
    }

    /// Wakes every watch of `key`.
    public func signal(_ key: Key) {
        let woken = state.withLock { state -> [CheckedContinuation<Void, Never>] in
            guard var slots = state.slots[key] else { return [] }
            var woken: [CheckedContinuation<Void, Never>] = []
            for (id, slot) in slots {
                if case .waiting(let continuation) = slot { woken.append(continuation) }
                slots[id] = .fired
            }
            state.slots[key] = slots
            return woken
        }
        for continuation in woken { continuation.resume() }
    }

    /// Returns when the key was signalled since the watch began, after `timeout`, or on cancellation,
    /// whichever is first; the watch ends.
    public func wait(_ watch: Watch, timeout: Duration) async {
        let timer = Task {
            guard (try? await Task.sleep(for: timeout)) != nil else { return }
            self.fire(watch)
        }
        await withTaskCancellationHandler {
            await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
                let resumeNow = state.withLock { state -> Bool in
                    guard case .watching? = state.slots[watch.key]?[watch.id] else { return true }
                    state.slots[watch.key]![watch.id] = .waiting(continuation)
                    return false
                }
                if resumeNow { continuation.resume() }
            }
        } onCancel: {
            self.fire(watch)
        }
        timer.cancel()
        end(watch)
    }

    /// Ends a watch without waiting.
    public func end(_ watch: Watch) {
        state.withLock { state in
            state.slots[watch.key]?[watch.id] = nil
            if state.slots[watch.key]?.isEmpty == true { state.slots[watch.key] = nil }
        }
    }

    /// Keys being watched (for tests: a finished wait leaves nothing behind).
    var watchedKeys: Int { state.withLock { $0.slots.count } }

    private func fire(_ watch: Watch) {
        let continuation = state.withLock { state -> CheckedContinuation<Void, Never>? in
            switch state.slots[watch.key]?[watch.id] {
            case .waiting(let continuation):
                state.slots[watch.key]![watch.id] = .fired
                return continuation
            case .watching:
                state.slots[watch.key]![watch.id] = .fired
                return nil
            case .fired, nil:
                return nil
            }
        }
        continuation?.resume()
    }
}
