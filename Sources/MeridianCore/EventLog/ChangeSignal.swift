import Synchronization

/// Wakes waiters when something changed (the event log got records, a store committed), so readers
/// block instead of polling on a timer.
public final class ChangeSignal: Sendable {
    private enum Slot {
        /// Registered, not parked yet.
        case pending
        case waiting(CheckedContinuation<Void, Never>)
        /// The timeout or cancellation came before the waiter parked.
        case fired
    }

    private struct State {
        var version: UInt64 = 0
        var slots: [UInt64: Slot] = [:]
        var nextWaiter: UInt64 = 0
    }

    private let state = Mutex(State())

    public init() {}

    /// Moves on with every ``signal()``.
    public var version: UInt64 { state.withLock { $0.version } }

    /// Wakes every waiter.
    public func signal() {
        let woken = state.withLock { state -> [CheckedContinuation<Void, Never>] in
            state.version &+= 1
            var woken: [CheckedContinuation<Void, Never>] = []
            for (id, slot) in state.slots {
                if case .waiting(let continuation) = slot {
                    woken.append(continuation)
                    state.slots[id] = nil
                }
            }
            return woken
        }
        for continuation in woken { continuation.resume() }
    }

    /// Returns when the version moves past `seen`, after `timeout`, or on cancellation, whichever is first.
    public func wait(after seen: UInt64, timeout: Duration) async {
        let id = state.withLock { state -> UInt64 in
            state.nextWaiter &+= 1
            state.slots[state.nextWaiter] = .pending
            return state.nextWaiter
        }
        let timer = Task {
            guard (try? await Task.sleep(for: timeout)) != nil else { return }
            self.fire(id)
        }
        await withTaskCancellationHandler {
            await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
                let resumeNow = state.withLock { state -> Bool in
                    if state.version != seen { return true }
                    if case .fired = state.slots[id] { return true }
                    state.slots[id] = .waiting(continuation)
                    return false
                }
                if resumeNow { continuation.resume() }
            }
        } onCancel: {
            self.fire(id)
        }
        timer.cancel()
        state.withLock { _ = $0.slots.removeValue(forKey: id) }
    }

    private func fire(_ id: UInt64) {
        let continuation = state.withLock { state -> CheckedContinuation<Void, Never>? in
            switch state.slots[id] {
            case .waiting(let continuation):
                state.slots[id] = nil
                return continuation
            case .pending:
                state.slots[id] = .fired
                return nil
            case .fired, nil:
                return nil
            }
        }
        continuation?.resume()
    }
}
