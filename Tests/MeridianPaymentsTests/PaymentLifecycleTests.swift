import Testing

@testable import MeridianPayments

/// Every transition of a payment's life: the rules, without I/O.
@Suite struct PaymentLifecycleTests {
    @Test func aChargeIsRecordedAsItCame() {
        #expect(PaymentLifecycle.transition(from: nil, on: .charged(.succeeded)) == .record(.succeeded, publish: .succeeded))
        #expect(
            PaymentLifecycle.transition(from: nil, on: .charged(.declined(reason: "expired_card")))
                == .record(.failed, publish: .failed(reason: "expired_card")))
    }

    @Test func anOrderCancelledBeforeItsChargeIsVoidedAndNeverCharged() {
        #expect(PaymentLifecycle.transition(from: nil, on: .orderCancelled) == .record(.voided, publish: nil))
        #expect(!PaymentLifecycle.shouldCharge(.voided))
        #expect(PaymentLifecycle.shouldCharge(nil))
    }

    @Test func paidAfterExpiryIsRefunded() {
        // The order was cancelled (reservation expired) after its payment succeeded.
        #expect(PaymentLifecycle.transition(from: .succeeded, on: .orderCancelled) == .record(.refunded, publish: .refunded))
        // Or cancelled while the charge was on its way: what was taken goes back at once.
        #expect(PaymentLifecycle.transition(from: .voided, on: .charged(.succeeded)) == .record(.refunded, publish: .refunded))
    }

    @Test func duplicatesAndLateEventsChangeNothing() {
        #expect(PaymentLifecycle.transition(from: .succeeded, on: .charged(.succeeded)) == .ignore)
        #expect(PaymentLifecycle.transition(from: .failed, on: .charged(.succeeded)) == .ignore)
        #expect(PaymentLifecycle.transition(from: .failed, on: .orderCancelled) == .ignore)
        #expect(PaymentLifecycle.transition(from: .refunded, on: .orderCancelled) == .ignore)
        #expect(PaymentLifecycle.transition(from: .refunded, on: .charged(.succeeded)) == .ignore)
        #expect(PaymentLifecycle.transition(from: .voided, on: .orderCancelled) == .ignore)
        #expect(PaymentLifecycle.transition(from: .voided, on: .charged(.declined(reason: "card_declined"))) == .ignore)
        for status in PaymentStatus.allCases where status != .voided {
            #expect(!PaymentLifecycle.shouldCharge(status))
        }
    }
}
