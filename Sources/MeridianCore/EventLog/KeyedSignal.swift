import Synchronization

/// Wakes the tasks waiting for one key (one order, say) when it changes, handing them the new value, so they
/// block instead of polling and need not read it again.
///
/// A waiter first ``watch(_:)``es the key, then looks at the thing itself, then ``wait(_:timeout:)``s: a change
/// between the look and the wait is not missed, because the watch saw it. Only keys being watched take memory.
///
/// Written by hand: neither the standard library nor NIO has a keyed wake-up with a timeout.
public final class KeyedSignal<Key: Hashable & Sendable, Value: Sendable>: Sendable {
    /// One waiter's interest in one key, from ``watch(_:)`` until its ``wait(_:timeout:)`` returns.
    public struct Watch: Sendable {
        let key: Key
        let id: UInt64
    }

    private enum Slot {
        case watching
        /// Signalled (with the value), timed out or cancelled (nil) before the waiter parked.
        case fired(Value?)
        case waiting(CheckedContinuation<Value?, Never>)
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

    /// Wakes every watch of `key` with `value`.
    public func signal(_ key: Key, _ value: Value) {
        let woken = state.withLock { state -> [CheckedContinuation<Value?, Never>] in
            guard var slots = state.slots[key] else { return [] }
            var woken: [CheckedContinuation<Value?, Never>] = []
            for (id, slot) in slots {
                switch slot {
                case .waiting(let continuation): woken.append(continuation)
                case .watching, .fired: break
                }
                slots[id] = .fired(value)
            }
            state.slots[key] = slots
            return woken
        }
        for continuation in woken { continuation.resume(returning: value) }
    }

    /// Returns the value of the first signal of the key since the watch began, or nil after `timeout` or on
    /// cancellation, whichever is first; the watch ends.
    @discardableResult
    public func wait(_ watch: Watch, timeout: Duration) async -> Value? {
        let timer = Task {
            guard (try? await Task.sleep(for: timeout)) != nil else { return }
            self.fire(watch)
        }
        let value = await withTaskCancellationHandler {
            await withCheckedContinuation { (continuation: CheckedContinuation<Value?, Never>) in
                let now = state.withLock { state -> Value?? in
                    switch state.slots[watch.key]?[watch.id] {
                    case .watching?:
                        state.slots[watch.key]![watch.id] = .waiting(continuation)
                        return .none
                    case .fired(let value)?: return .some(value)
                    case .waiting?, nil: return .some(nil)
                    }
                }
                if let now { continuation.resume(returning: now) }
            }
        } onCancel: {
            self.fire(watch)
        }
        timer.cancel()
        end(watch)
        return value
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

    /// Ends a wait without a value (timeout, cancellation).
    private func fire(_ watch: Watch) {
        let continuation = state.withLock { state -> CheckedContinuation<Value?, Never>? in
            switch state.slots[watch.key]?[watch.id] {
            case .waiting(let continuation):
                state.slots[watch.key]![watch.id] = .fired(nil)
                return continuation
            case .watching:
                state.slots[watch.key]![watch.id] = .fired(nil)
                return nil
            case .fired, nil:
                return nil
            }
        }
        continuation?.resume(returning: nil)
    }
}
