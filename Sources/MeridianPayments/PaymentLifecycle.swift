/// What became of a payment.
public enum PaymentStatus: String, Sendable, Codable, CaseIterable {
    case succeeded, failed
    /// It succeeded, and was given back because its order had been cancelled.
    case refunded
    /// Its order was cancelled before it was charged: it never will be.
    case voided
}

/// The rules of a payment's life, without I/O: the payment's status (nil: none recorded yet) and what
/// happened give the status to record and the event to publish, or say why nothing changes. The payment
/// store applies the answer in one transaction, once per consumed event (the inbox).
///
/// ```
/// (none) ── charged, succeeded ──► succeeded + payment.succeeded
///        ── charged, declined ───► failed    + payment.failed
///        ── order cancelled ─────► voided    (never charged afterwards)
/// voided ── charged, succeeded ──► refunded  + payment.refunded  (the order was cancelled while charging)
/// succeeded ── order cancelled ──► refunded  + payment.refunded  (paid after the reservation expired)
/// anything else: ignored (a redelivery, or nothing left to do)
/// ```
public enum PaymentLifecycle {
    public enum Event: Sendable, Hashable {
        /// The provider answered a charge for the order.
        case charged(ChargeOutcome)
        /// The order was cancelled (`order.cancelled`).
        case orderCancelled
    }

    /// The event a payment's change publishes.
    public enum Publication: Sendable, Hashable {
        case succeeded
        case failed(reason: String)
        case refunded
    }

    public enum Transition: Sendable, Hashable {
        /// Record the payment with this status (a new one, or the existing one changed) and publish, if any.
        case record(PaymentStatus, publish: Publication?)
        /// Nothing changes.
        case ignore
    }

    /// Whether a payment request is to be charged at all: only when the order has no payment yet (a voided one
    /// means its order was cancelled first).
    public static func shouldCharge(_ status: PaymentStatus?) -> Bool { status == nil }

    public static func transition(from status: PaymentStatus?, on event: Event) -> Transition {
        switch (status, event) {
        case (nil, .charged(.succeeded)):
            return .record(.succeeded, publish: .succeeded)
        case (nil, .charged(.declined(let reason))):
            return .record(.failed, publish: .failed(reason: reason))
        case (nil, .orderCancelled):
            return .record(.voided, publish: nil)
        case (.voided?, .charged(.succeeded)), (.succeeded?, .orderCancelled):
            return .record(.refunded, publish: .refunded)
        case (.voided?, _), (.succeeded?, _), (.failed?, _), (.refunded?, _):
            return .ignore
        }
    }
}
