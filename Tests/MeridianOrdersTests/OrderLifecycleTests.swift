import MeridianContracts
import Testing

@testable import MeridianOrders

/// Every transition of the order's life: the rules, without I/O.
@Suite struct OrderLifecycleTests {
    let paid = OrderLifecycle.Event.paymentSucceeded(paymentID: PaymentID("pay1"))
    let declined = OrderLifecycle.Event.paymentFailed(reason: "card_declined")
    let expired = OrderLifecycle.Event.reservationExpired

    @Test func aPaidOrderIsConfirmed() {
        #expect(
            OrderLifecycle.transition(from: .awaitingPayment, on: paid)
                == .move(to: .confirmed, publish: .confirmed(paymentID: PaymentID("pay1"))))
    }

    @Test func aDeclinedOrderFails() {
        #expect(
            OrderLifecycle.transition(from: .awaitingPayment, on: declined)
                == .move(to: .failed, publish: .failed(reason: "card_declined")))
    }

    @Test func anUnpaidOrderIsCancelledWhenItsReservationExpires() {
        #expect(
            OrderLifecycle.transition(from: .awaitingPayment, on: expired)
                == .move(to: .cancelled, publish: .cancelled(reason: "reservation_expired")))
    }

    @Test func aPaymentAfterTheCancellationChangesNothingHereAndIsRefundedByPayments() {
        #expect(OrderLifecycle.transition(from: .cancelled, on: paid) == .ignore(.paidAfterCancellation))
    }

    @Test func theSameOutcomeAgainIsARedelivery() {
        #expect(OrderLifecycle.transition(from: .confirmed, on: paid) == .ignore(.already(.confirmed)))
        #expect(OrderLifecycle.transition(from: .failed, on: declined) == .ignore(.already(.failed)))
        #expect(OrderLifecycle.transition(from: .cancelled, on: expired) == .ignore(.already(.cancelled)))
    }

    @Test func anOutcomeAfterAnotherEndedTheOrderIsIgnored() {
        // Out of order, or a race lost to the sweeper or to the payment.
        #expect(OrderLifecycle.transition(from: .confirmed, on: declined) == .ignore(.ended(.confirmed)))
        #expect(OrderLifecycle.transition(from: .confirmed, on: expired) == .ignore(.ended(.confirmed)))
        #expect(OrderLifecycle.transition(from: .failed, on: paid) == .ignore(.ended(.failed)))
        #expect(OrderLifecycle.transition(from: .failed, on: expired) == .ignore(.ended(.failed)))
        #expect(OrderLifecycle.transition(from: .cancelled, on: declined) == .ignore(.ended(.cancelled)))
    }

    @Test func onlyAnOrderAwaitingPaymentEverMoves() {
        for status in OrderStatus.allCases {
            for event in [paid, declined, expired] {
                if case .move = OrderLifecycle.transition(from: status, on: event) {
                    #expect(status == .awaitingPayment, "\(status) moved on \(event)")
                    #expect(!status.isFinal)
                }
            }
        }
    }
}
