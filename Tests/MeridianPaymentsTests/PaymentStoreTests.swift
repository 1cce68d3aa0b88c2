import Foundation
import Logging
import MeridianContracts
import MeridianCore
import MeridianEventLog
import MeridianMessaging
import MeridianPayments
import MeridianStorage
import MeridianTestSupport
import SQLKit
import Synchronization
import Testing

/// Payments on SQLite and PostgreSQL: one charge per order whatever the redelivery, refunds and voids.
@Suite struct PaymentStoreTests {
    static let topics = Topics()

    /// A provider that counts its charges.
    final class CountingProvider: PaymentProvider {
        let charges = Mutex(0)
        func charge(amountCents: Int, currency: String, method: String, idempotencyKey: String) async throws -> ChargeOutcome {
            charges.withLock { $0 += 1 }
            return try await SimulatedPaymentProvider().charge(
                amountCents: amountCents, currency: currency, method: method, idempotencyKey: idempotencyKey)
        }
    }

    func requested(_ order: String, method: String = "pm_card_visa") throws -> ConsumedRecord {
        let record = try PaymentRequested(
            orderID: order, userID: "u1", amountCents: 1400, currency: "USD", paymentMethod: method
        ).record(topics: Self.topics)
        return ConsumedRecord(
            topic: record.topic, partition: 0, offset: 0, key: record.key, value: record.value, headers: record.headers,
            timestamp: Date())
    }

    @Test(arguments: backends) func aRedeliveredPaymentRequestChargesOnceAndACancelledOrderIsRefunded(backend: String)
        async throws
    {
        let database = try await TestDatabase.make(backend, migrations: [("payments", SQLPaymentStore.migrations)])
        let directory = NSTemporaryDirectory() + "meridian-pay-" + UUID().uuidString
        let log = try await EmbeddedEventLog.openRunning(path: directory + "/log.sqlite")
        let payments = SQLPaymentStore(store: database.store, topics: Self.topics)
        let provider = CountingProvider()
        let processor = PaymentProcessor(
            payments: payments, provider: provider, metrics: PaymentMetrics(), logger: Logger(label: "test"))
        let handling = EventHandling(eventLog: log, topics: Self.topics, consumer: "payments", logger: Logger(label: "test"))

        let record = try requested("o1")
        try await handling.dispatch([record, record], processor.handleRequest)
        try await handling.dispatch([record], processor.handleRequest)
        #expect(provider.charges.withLock { $0 } == 1)
        #expect(try await payments.find(order: "o1")?.status == .succeeded)

        let cancelled = try OrderCancelled(orderID: "o1", userID: "u1", reason: "reservation_expired").cloudEvent()
        #expect(try await payments.orderCancelled(eventID: cancelled.id, order: "o1", user: "u1") != .nothing)
        #expect(try await payments.orderCancelled(eventID: cancelled.id, order: "o1", user: "u1") == .nothing)
        #expect(try await payments.find(order: "o1")?.status == .refunded)

        // Cancelled before it was charged: it never is.
        #expect(try await payments.orderCancelled(eventID: "c2", order: "o2", user: "u1") == .voided)
        try await handling.dispatch([try requested("o2")], processor.handleRequest)
        #expect(provider.charges.withLock { $0 } == 1)
        #expect(try await payments.find(order: "o2")?.status == .voided)

        try await handling.dispatch(
            [try requested("o3", method: "pm_card_chargeDeclinedInsufficientFunds")], processor.handleRequest)
        #expect(try await payments.find(order: "o3")?.reason == "insufficient_funds")
        #expect(
            try await outboxTypes(database.store, service: "payments") == [
                "payment.succeeded", "payment.refunded", "payment.failed",
            ])
        await log.close()
        try? FileManager.default.removeItem(atPath: directory)
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
