import Foundation
import Logging
import MeridianContracts
import MeridianCore
import MeridianMessaging
import MeridianOrders
import MeridianStorage
import MeridianTestSupport
import SQLKit
import Testing

/// The orders' store on SQLite and PostgreSQL: orders with their events, and a consumed event applied once.
@Suite struct OrderStoreTests {
    static let topics = Topics()

    func migrated(_ backend: String) async throws -> TestDatabase {
        try await TestDatabase.make(backend, migrations: [("orders", SQLOrderStore.migrations)])
    }

    func order(_ id: String = RandomID.uuidString(), user: String = "u1", key: String? = nil, expiresIn: TimeInterval = 600)
        -> Order
    {
        let now = Date()
        return Order(
            id: OrderID(id), userID: UserID(user), status: .awaitingPayment,
            items: [OrderItem(productID: "p1", name: "Mug", unitPriceCents: 700, quantity: 2)], totalCents: 1400,
            currency: "USD", paymentMethod: "pm_card_visa", paymentID: nil, reason: nil, idempotencyKey: key, createdAt: now,
            updatedAt: now, expiresAt: now.addingTimeInterval(expiresIn))
    }

    @Test(arguments: backends) func anOrderIsWrittenWithItsEventsAndAPaymentEventAppliesOnce(backend: String) async throws {
        let database = try await migrated(backend)
        let orders = SQLOrderStore(store: database.store, topics: Self.topics)
        let first = order(key: "k1")
        guard case .created = try await orders.create(first, fromCart: true) else {
            Issue.record("not created")
            return
        }
        // The same user and key: the first order, not a second.
        guard case .existing(let existing) = try await orders.create(order(key: "k1"), fromCart: true) else {
            Issue.record("a second order for the same key")
            return
        }
        #expect(existing.id == first.id)
        #expect(try await outboxTypes(database.store, service: "orders") == ["order.created", "payment.requested"])

        let paid = OrderLifecycle.Event.paymentSucceeded(paymentID: PaymentID("pay1"))
        #expect(try await orders.apply(paid, to: first.id, eventID: "ev1", at: Date())?.status == .confirmed)
        #expect(try await orders.apply(paid, to: first.id, eventID: "ev1", at: Date()) == nil)
        // Another event for an order no longer awaiting payment changes nothing either.
        #expect(try await orders.apply(.paymentFailed(reason: "card_declined"), to: first.id, eventID: "ev2", at: Date()) == nil)
        #expect(try await orders.find(first.id)?.status == .confirmed)
        #expect(try await orders.find(first.id)?.paymentID == PaymentID("pay1"))
        #expect(try await orders.apply(paid, to: OrderID("unknown"), eventID: "ev3", at: Date()) == nil)
        #expect(
            try await outboxTypes(database.store, service: "orders") == ["order.created", "payment.requested", "order.confirmed"])
        await database.close()
    }

    @Test(arguments: backends) func theSweeperCancelsOnlyExpiredOrdersAndALatePaymentLeavesThemCancelled(backend: String)
        async throws
    {
        let database = try await migrated(backend)
        let orders = SQLOrderStore(store: database.store, topics: Self.topics)
        let saga = OrderSaga(orders: orders, metrics: OrderMetrics(), logger: Logger(label: "test"))
        let expired = order(expiresIn: -1)
        let fresh = order()
        _ = try await orders.create(expired, fromCart: false)
        _ = try await orders.create(fresh, fromCart: false)
        #expect(try await orders.expired(before: Date(), limit: 10) == [expired.id])
        #expect(try await saga.sweep() == 1)
        #expect(try await saga.sweep() == 0)
        #expect(try await orders.find(expired.id)?.status == .cancelled)
        #expect(try await orders.find(expired.id)?.reason == "reservation_expired")
        #expect(try await orders.find(fresh.id)?.status == .awaitingPayment)
        let late = OrderLifecycle.Event.paymentSucceeded(paymentID: PaymentID("p"))
        #expect(try await orders.apply(late, to: expired.id, eventID: "late", at: Date()) == nil)
        #expect(try await orders.find(expired.id)?.status == .cancelled)
        await database.close()
    }
}

/// The `ce_type` of each record in `service`'s outbox, oldest first.
func outboxTypes(_ store: any SQLStore, service: String) async throws -> [String] {
    try await store.withDatabase { database in
        try await database.raw("SELECT headers FROM outbox WHERE service = \(bind: service) ORDER BY sequence").all().map {
            let headers = HeaderCoding.decode(Array(try $0.decode(column: "headers", as: Data.self)))
            return headers.first { $0.name == "ce_type" }?.stringValue ?? "?"
        }
    }
}
