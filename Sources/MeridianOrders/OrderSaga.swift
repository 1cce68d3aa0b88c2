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
    let orders: any OrderStore
    let updates: KeyedSignal<OrderID, Order>
    let metrics: OrderMetrics
    let logger: Logger

    /// - Parameter updates: signalled with each order the saga moves on (requests waiting for it wake up with it).
    public init(orders: any OrderStore, updates: KeyedSignal<OrderID, Order> = .init(), metrics: OrderMetrics, logger: Logger) {
        self.orders = orders
        self.updates = updates
        self.metrics = metrics
        self.logger = logger
    }

    /// The topics ``handlePaymentOutcome(_:)`` reads.
    public static func paymentTopics(_ topics: Topics) -> [String] {
        [topics.paymentSucceeded, topics.paymentFailed]
    }

    /// Applies `payment.succeeded` and `payment.failed`, each once.
    public func handlePaymentOutcome(_ event: CloudEvent) async throws {
        let order: OrderID
        let happened: OrderLifecycle.Event
        switch try CommerceEvent(event) {
        case .paymentSucceeded(let succeeded)?:
            order = OrderID(succeeded.orderID)
            happened = .paymentSucceeded(paymentID: PaymentID(succeeded.paymentID))
        case .paymentFailed(let failed)?:
            order = OrderID(failed.orderID)
            happened = .paymentFailed(reason: failed.reason)
        default:
            return
        }
        let changed = try await orders.apply(happened, to: order, eventID: event.id, at: Date())
        if let changed {
            updates.signal(order, changed)
            metrics.reached(changed.status)
            logger.info("order \(changed.status.metricLabel)", metadata: ["order_id": "\(changed.id)"])
        }
    }

    /// One sweep: cancels the orders whose reservation expired. Returns how many.
    @discardableResult
    public func sweep(now: Date = Date()) async throws -> Int {
        var cancelled = 0
        for id in try await orders.expired(before: now, limit: 200) {
            guard let changed = try await orders.apply(.reservationExpired, to: id, eventID: nil, at: now) else { continue }
            updates.signal(id, changed)
            cancelled += 1
            metrics.reached(.cancelled)
            logger.info("order cancelled: reservation expired", metadata: ["order_id": "\(id)"])
        }
        return cancelled
    }
}
