import Foundation
import Logging
import MeridianContracts
import MeridianCore
import MeridianMessaging
import MeridianStorage

/// The orders service's side of the saga: payment outcomes move orders on, and the sweeper cancels
/// orders whose reservation expired.
///
/// ```
/// POST /api/orders ─► AWAITING_PAYMENT ── order.created, payment.requested
///   payment.succeeded ─► CONFIRMED ── order.confirmed   (products commit the stock, carts clear the lines)
///   payment.failed    ─► FAILED    ── order.failed      (products release the stock)
///   sweeper (TTL)     ─► CANCELLED ── order.cancelled   (products release; payments refund a late success)
/// ```
public struct OrderSaga: Sendable {
    let orders: OrderStore
    let handling: EventHandling
    let metrics: OrderMetrics
    let logger: Logger

    public init(orders: OrderStore, handling: EventHandling, metrics: OrderMetrics, logger: Logger) {
        self.orders = orders
        self.handling = handling
        self.metrics = metrics
        self.logger = logger
    }

    /// The topics ``handlePaymentOutcomes(_:)`` reads.
    public static func paymentTopics(_ topics: Topics) -> [String] {
        [topics.paymentSucceeded, topics.paymentFailed]
    }

    /// Applies `payment.succeeded` and `payment.failed`, each once.
    public func handlePaymentOutcomes(_ records: [ConsumedRecord]) async throws {
        try await handling.dispatch(records) { event in
            let changed: Order?
            switch try CommerceEvent(event) {
            case .paymentSucceeded(let succeeded)?:
                changed = try await orders.confirm(eventID: event.id, payment: succeeded)
            case .paymentFailed(let failed)?:
                changed = try await orders.fail(eventID: event.id, payment: failed)
            default:
                return
            }
            if let changed {
                metrics.reached(changed.status)
                logger.info("order \(changed.status.metricLabel)", metadata: ["order_id": "\(changed.id)"])
            }
        }
    }

    /// One sweep: cancels the orders whose reservation expired. Returns how many.
    @discardableResult
    public func sweep(now: Date = Date()) async throws -> Int {
        let cancelled = try await orders.cancelExpired(now: now)
        for order in cancelled {
            metrics.reached(.cancelled)
            logger.info("order cancelled: reservation expired", metadata: ["order_id": "\(order.id)"])
        }
        return cancelled.count
    }
}
