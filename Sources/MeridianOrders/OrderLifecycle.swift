import MeridianContracts

/// Where an order is in the saga.
public enum OrderStatus: String, Sendable, Codable, CaseIterable {
    /// Created, stock reserved, `payment.requested` sent.
    case awaitingPayment = "AWAITING_PAYMENT"
    /// Paid: the stock is committed.
    case confirmed = "CONFIRMED"
    /// The payment failed: the reservation is released.
    case failed = "FAILED"
    /// Not paid within the reservation time: the reservation is released.
    case cancelled = "CANCELLED"

    /// The `status` label of `meridian_orders_total`.
    public var metricLabel: String { rawValue.lowercased() }

    /// True once the order can change no more.
    public var isFinal: Bool { self != .awaitingPayment }
}

/// The rules of an order's life, without I/O: a status and what happened give the next status and the event
/// to publish, or say why nothing changes. The order store applies the answer in one transaction (its
/// `UPDATE ... WHERE status = <the status read>` settles a race with another transition); the saga's
/// consumer and the sweeper feed it.
///
/// ```
/// AWAITING_PAYMENT ── payment succeeded ──► CONFIRMED   + order.confirmed  (products commit, carts clear)
///                  ── payment failed ────► FAILED      + order.failed     (products release)
///                  ── reservation expired► CANCELLED   + order.cancelled  (products release; payments void or refund)
/// CONFIRMED, FAILED, CANCELLED: final; anything more is ignored (a redelivery, or a payment that came after
/// the order was cancelled, which the payments service refunds because it saw `order.cancelled`).
/// ```
public enum OrderLifecycle {
    /// What can happen to an order.
    public enum Event: Sendable, Hashable {
        case paymentSucceeded(paymentID: PaymentID)
        case paymentFailed(reason: String)
        case reservationExpired
    }

    /// The event an order's change publishes on `orders`.
    public enum Publication: Sendable, Hashable {
        case confirmed(paymentID: PaymentID)
        case failed(reason: String)
        case cancelled(reason: String)
    }

    /// Why an event changes nothing.
    public enum Ignored: Sendable, Hashable {
        /// The order reached this status before (the same outcome again: a redelivery).
        case already(OrderStatus)
        /// The order ended otherwise before this arrived (out of order, or a race lost).
        case ended(OrderStatus)
        /// The payment succeeded after the order was cancelled: the payments service refunds it.
        case paidAfterCancellation
    }

    public enum Transition: Sendable, Hashable {
        case move(to: OrderStatus, publish: Publication)
        case ignore(Ignored)
    }

    /// The reason an expired order is cancelled with.
    public static let expiredReason = "reservation_expired"

    public static func transition(from status: OrderStatus, on event: Event) -> Transition {
        switch (status, event) {
        case (.awaitingPayment, .paymentSucceeded(let payment)):
            return .move(to: .confirmed, publish: .confirmed(paymentID: payment))
        case (.awaitingPayment, .paymentFailed(let reason)):
            return .move(to: .failed, publish: .failed(reason: reason))
        case (.awaitingPayment, .reservationExpired):
            return .move(to: .cancelled, publish: .cancelled(reason: expiredReason))
        case (.confirmed, .paymentSucceeded), (.failed, .paymentFailed), (.cancelled, .reservationExpired):
            return .ignore(.already(status))
        case (.cancelled, .paymentSucceeded):
            return .ignore(.paidAfterCancellation)
        case (.confirmed, _), (.failed, _), (.cancelled, _):
            return .ignore(.ended(status))
        }
    }
}
