import Foundation
import Logging
import MeridianContracts
import MeridianCore
import MeridianMessaging
import MeridianStorage
import Metrics

/// A payment provider: charges a payment method.
public protocol PaymentProvider: Sendable {
    /// Charges `amountCents` to `method`; `idempotencyKey` makes a repeated charge of the same key one charge.
    func charge(amountCents: Int, currency: String, method: String, idempotencyKey: String) async throws -> ChargeOutcome
}

public enum ChargeOutcome: Sendable, Hashable {
    case succeeded
    case declined(reason: String)
}

/// The simulated provider: the outcome is decided by the payment method token, like a card provider's
/// test mode; for load tests, an optional share of random declines and a latency per charge.
///
/// | token | outcome |
/// |---|---|
/// | `pm_card_visa`, `pm_card_mastercard`, `pm_card_amex` | succeeds |
/// | `pm_card_chargeDeclined` | `card_declined` |
/// | `pm_card_chargeDeclinedInsufficientFunds` | `insufficient_funds` |
/// | `pm_card_chargeDeclinedExpiredCard` | `expired_card` |
/// | anything else | `unknown_payment_method` |
public struct SimulatedPaymentProvider: PaymentProvider {
    public struct Configuration: Sendable {
        /// The share of charges of good cards declined at random (`processing_error`), 0...1. Default 0.
        public var failureRate = 0.0
        /// The time each charge takes. Default 0.
        public var latency: Duration = .zero

        public init() {}
    }

    public static let succeeding: Set<String> = ["pm_card_visa", "pm_card_mastercard", "pm_card_amex"]
    public static let declining: [String: String] = [
        "pm_card_chargeDeclined": "card_declined",
        "pm_card_chargeDeclinedInsufficientFunds": "insufficient_funds",
        "pm_card_chargeDeclinedExpiredCard": "expired_card",
    ]

    let configuration: Configuration

    public init(configuration: Configuration = .init()) {
        self.configuration = configuration
    }

    public func charge(amountCents: Int, currency: String, method: String, idempotencyKey: String) async throws
        -> ChargeOutcome
    {
        if configuration.latency > .zero { try await Task.sleep(for: configuration.latency) }
        if let reason = Self.declining[method] { return .declined(reason: reason) }
        guard Self.succeeding.contains(method) else { return .declined(reason: "unknown_payment_method") }
        if configuration.failureRate > 0 && Double.random(in: 0..<1) < configuration.failureRate {
            return .declined(reason: "processing_error")
        }
        return .succeeded
    }
}

/// `meridian_payments_total{outcome}`: `succeeded`, `failed`, `refunded`.
public struct PaymentMetrics: Sendable {
    let succeeded: Counter
    let failed: Counter
    let refunded: Counter

    public init(factory: any MetricsFactory = MetricsSystem.factory) {
        succeeded = Counter(label: "meridian_payments_total", dimensions: [("outcome", "succeeded")], factory: factory)
        failed = Counter(label: "meridian_payments_total", dimensions: [("outcome", "failed")], factory: factory)
        refunded = Counter(label: "meridian_payments_total", dimensions: [("outcome", "refunded")], factory: factory)
    }
}

/// The payments service's consumer: charges each `payment.requested` once, and refunds a payment whose
/// order was cancelled (`order.cancelled`).
///
/// The charge happens before the transaction that records it; the order id is the provider's
/// idempotency key, so a charge repeated after a crash is still one charge.
public struct PaymentProcessor: Sendable {
    let payments: any PaymentStore
    let provider: any PaymentProvider
    let metrics: PaymentMetrics
    let logger: Logger

    public init(
        payments: any PaymentStore, provider: any PaymentProvider, metrics: PaymentMetrics, logger: Logger
    ) {
        self.payments = payments
        self.provider = provider
        self.metrics = metrics
        self.logger = logger
    }

    /// Handles a `payment.requested` event.
    public func handleRequest(_ event: CloudEvent) async throws {
        guard case .paymentRequested(let request)? = try CommerceEvent(event) else { return }
        guard request.amountCents >= 0 else {
            throw UnreadableEvent(eventID: event.id, type: event.type, reason: "negative amount_cents")
        }
        guard PaymentLifecycle.shouldCharge(try await payments.find(order: request.orderID)?.status) else { return }
        let method = request.paymentMethod ?? ""
        let outcome = try await provider.charge(
            amountCents: request.amountCents, currency: request.currency, method: method, idempotencyKey: request.orderID)
        let payment = Payment(
            id: RandomID.uuidString(), orderID: request.orderID, userID: request.userID, amountCents: request.amountCents,
            currency: request.currency, method: method, status: .succeeded, reason: nil, createdAt: Date(),
            refundedAt: nil)
        switch try await payments.record(payment, outcome: outcome, requestEventID: event.id) {
        case .recorded(let payment):
            (payment.status == .succeeded ? metrics.succeeded : metrics.failed).increment()
            logger.info(
                "payment \(payment.status.rawValue)",
                metadata: [
                    "order_id": "\(payment.orderID)", "payment_id": "\(payment.id)", "reason": "\(payment.reason ?? "-")",
                ])
        case .refunded(let payment):
            metrics.refunded.increment()
            logger.info("payment refunded: order cancelled while charging", metadata: ["order_id": "\(payment.orderID)"])
        case .voided, .nothing:
            break
        }
    }

    /// Handles an `orders` event: refunds on `order.cancelled`.
    public func handleOrderEvent(_ event: CloudEvent) async throws {
        guard case .orderCancelled(let cancelled)? = try CommerceEvent(event) else { return }
        if case .refunded(let payment) = try await payments.orderCancelled(
            eventID: event.id, order: cancelled.orderID, user: cancelled.userID)
        {
            metrics.refunded.increment()
            logger.info(
                "payment refunded: order cancelled",
                metadata: ["order_id": "\(payment.orderID)", "payment_id": "\(payment.id)"])
        }
    }
}
