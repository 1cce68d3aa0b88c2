import Foundation
import Logging
import MeridianApp
import MeridianCore
import MeridianEventLog
import MeridianOrders
import MeridianPayments
import MeridianProducts
import MeridianStorage
import MeridianTestSupport
import SQLKit
import Synchronization
import Testing

/// The saga's repositories on SQLite and PostgreSQL: reservations, orders, payments, and the guarantee
/// that a redelivered event has one effect.
@Suite struct SagaStoreTests {
    static let topics = Topics()

    func migrated(_ backend: String) async throws -> TestDatabase {
        let database = try await TestDatabase.make(backend)
        _ = try await migrate(database.store, roles: [.products, .orders, .payments])
        return database
    }

    func product(_ products: ProductStore, stock: Int, cents: Int = 500) async throws -> ProductID {
        let id = ProductID(rawValue: RandomID.uuidString())
        try await products.insert(
            Product(
                id: id, name: "P", description: "", category: "c", priceCents: cents, currency: "USD", stock: stock,
                reserved: 0, deleted: false, createdAt: Date()))
        return id
    }

    func outboxTypes(_ store: any SQLStore, service: String) async throws -> [String] {
        try await store.withDatabase { database in
            try await database.raw("SELECT headers FROM outbox WHERE service = \(bind: service) ORDER BY sequence").all().map {
                let headers = HeaderCoding.decode(Array(try $0.decode(column: "headers", as: Data.self)))
                return headers.first { $0.name == "ce_type" }?.stringValue ?? "?"
            }
        }
    }

    @Test(arguments: backends) func aReservationHoldsEveryItemOrNone(backend: String) async throws {
        let database = try await migrated(backend)
        let products = ProductStore(store: database.store)
        let plenty = try await product(products, stock: 10)
        let scarce = try await product(products, stock: 1)
        let expiry = Date().addingTimeInterval(600)

        let refused = try await products.reserve(
            order: "o1", items: [.init(productID: plenty, quantity: 3), .init(productID: scarce, quantity: 2)], expiresAt: expiry)
        #expect(refused == .shortOfStock(scarce, requested: 2, available: 1))
        #expect(try await products.find(plenty)?.reserved == 0)

        let held = try await products.reserve(
            order: "o2", items: [.init(productID: plenty, quantity: 3), .init(productID: plenty, quantity: 1)], expiresAt: expiry)
        guard case .reserved(let items) = held else {
            Issue.record("not reserved: \(held)")
            return
        }
        #expect(items.map(\.quantity) == [4])
        // Asking again for the same order holds nothing more.
        _ = try await products.reserve(order: "o2", items: [.init(productID: plenty, quantity: 4)], expiresAt: expiry)
        #expect(try await products.find(plenty)?.reserved == 4)
        #expect(
            try await products.reserve(
                order: "o3", items: [.init(productID: ProductID(rawValue: "nope"), quantity: 1)], expiresAt: expiry)
                == .unknownProduct(ProductID(rawValue: "nope")))

        // Committing is applied once per event: a redelivery takes nothing more out of stock.
        #expect(try await products.endReservations(of: "o2", commit: true, eventID: "e1"))
        #expect(try await products.endReservations(of: "o2", commit: true, eventID: "e1") == false)
        let after = try #require(try await products.find(plenty))
        #expect(after.stock == 6 && after.reserved == 0 && after.sold == 4)

        // The safety net releases holds past their expiry, and only those.
        _ = try await products.reserve(
            order: "o4", items: [.init(productID: plenty, quantity: 2)], expiresAt: Date().addingTimeInterval(-1))
        _ = try await products.reserve(order: "o5", items: [.init(productID: plenty, quantity: 1)], expiresAt: expiry)
        #expect(try await products.releaseExpired(before: Date()) == 1)
        #expect(try await products.find(plenty)?.reserved == 1)
        await database.close()
    }

    func order(_ id: String = RandomID.uuidString(), user: String = "u1", key: String? = nil, expiresIn: TimeInterval = 600)
        -> Order
    {
        let now = Date()
        return Order(
            id: id, userID: user, status: .awaitingPayment,
            items: [CommerceEvent.OrderItem(productID: "p1", name: "Mug", unitPriceCents: 700, quantity: 2)], totalCents: 1400,
            currency: "USD", paymentMethod: "pm_card_visa", paymentID: nil, reason: nil, idempotencyKey: key, createdAt: now,
            updatedAt: now, expiresAt: now.addingTimeInterval(expiresIn))
    }

    @Test(arguments: backends) func anOrderIsWrittenWithItsEventsAndAPaymentEventAppliesOnce(backend: String) async throws {
        let database = try await migrated(backend)
        let orders = OrderStore(store: database.store, topics: Self.topics)
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

        let paid = CommerceEvent.PaymentSucceeded(
            orderID: first.id, paymentID: "pay1", amountCents: 1400, currency: "USD", processedAt: Timestamp.format(Date()))
        #expect(try await orders.confirm(eventID: "ev1", payment: paid)?.status == .confirmed)
        #expect(try await orders.confirm(eventID: "ev1", payment: paid) == nil)
        // Another event for an order no longer awaiting payment changes nothing either.
        #expect(try await orders.fail(eventID: "ev2", payment: .init(orderID: first.id, reason: "card_declined")) == nil)
        #expect(try await orders.find(first.id)?.status == .confirmed)
        #expect(try await orders.find(first.id)?.paymentID == "pay1")
        #expect(
            try await outboxTypes(database.store, service: "orders") == ["order.created", "payment.requested", "order.confirmed"])
        await database.close()
    }

    @Test(arguments: backends) func theSweeperCancelsOnlyExpiredOrdersAndALatePaymentLeavesThemCancelled(backend: String)
        async throws
    {
        let database = try await migrated(backend)
        let orders = OrderStore(store: database.store, topics: Self.topics)
        let expired = order(expiresIn: -1)
        let fresh = order()
        _ = try await orders.create(expired, fromCart: false)
        _ = try await orders.create(fresh, fromCart: false)
        #expect(try await orders.cancelExpired().map(\.id) == [expired.id])
        #expect(try await orders.cancelExpired().isEmpty)
        #expect(try await orders.find(expired.id)?.status == .cancelled)
        #expect(try await orders.find(expired.id)?.reason == "reservation_expired")
        #expect(try await orders.find(fresh.id)?.status == .awaitingPayment)
        let late = CommerceEvent.PaymentSucceeded(
            orderID: expired.id, paymentID: "p", amountCents: 1400, currency: "USD", processedAt: Timestamp.format(Date()))
        #expect(try await orders.confirm(eventID: "late", payment: late) == nil)
        #expect(try await orders.find(expired.id)?.status == .cancelled)
        await database.close()
    }

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
        let event = try CloudEvent.domain(
            type: "payment.requested", role: "orders",
            data: CommerceEvent.PaymentRequested(
                orderID: order, userID: "u1", amountCents: 1400, currency: "USD", paymentMethod: method))
        let record = event.record(topic: Self.topics.paymentRequested, aggregateID: order)
        return ConsumedRecord(
            topic: record.topic, partition: 0, offset: 0, key: record.key, value: record.value, headers: record.headers,
            timestamp: Date())
    }

    @Test(arguments: backends) func aRedeliveredPaymentRequestChargesOnceAndACancelledOrderIsRefunded(backend: String)
        async throws
    {
        let database = try await migrated(backend)
        let directory = NSTemporaryDirectory() + "meridian-pay-" + UUID().uuidString
        let log = try await EmbeddedEventLog.open(
            configuration: .init(path: directory + "/log.sqlite"), logger: Logger(label: "test"))
        let payments = PaymentStore(store: database.store, topics: Self.topics)
        let provider = CountingProvider()
        let processor = PaymentProcessor(
            payments: payments, provider: provider,
            handling: EventHandling(eventLog: log, topics: Self.topics, consumer: "payments", logger: Logger(label: "test")),
            metrics: PaymentMetrics(), logger: Logger(label: "test"))

        let record = try requested("o1")
        try await processor.handleRequests([record, record])
        try await processor.handleRequests([record])
        #expect(provider.charges.withLock { $0 } == 1)
        #expect(try await payments.find(order: "o1")?.status == .succeeded)

        let cancelled = try CloudEvent.domain(
            type: "order.cancelled", role: "orders",
            data: CommerceEvent.OrderEnded(orderID: "o1", userID: "u1", reason: "reservation_expired"))
        #expect(try await payments.orderCancelled(eventID: cancelled.id, order: "o1", user: "u1") != .nothing)
        #expect(try await payments.orderCancelled(eventID: cancelled.id, order: "o1", user: "u1") == .nothing)
        #expect(try await payments.find(order: "o1")?.status == .refunded)

        // Cancelled before it was charged: it never is.
        #expect(try await payments.orderCancelled(eventID: "c2", order: "o2", user: "u1") == .voided)
        try await processor.handleRequests([try requested("o2")])
        #expect(provider.charges.withLock { $0 } == 1)
        #expect(try await payments.find(order: "o2")?.status == .voided)

        try await processor.handleRequests([try requested("o3", method: "pm_card_chargeDeclinedInsufficientFunds")])
        #expect(try await payments.find(order: "o3")?.reason == "insufficient_funds")
        #expect(
            try await outboxTypes(database.store, service: "payments") == [
                "payment.succeeded", "payment.refunded", "payment.failed",
            ])
        await log.close()
        try? FileManager.default.removeItem(atPath: directory)
        await database.close()
    }

    @Test func unreadableAndFailingRecordsGoToTheDeadLetterTopic() async throws {
        let directory = NSTemporaryDirectory() + "meridian-dlq-" + UUID().uuidString
        let log = try await EmbeddedEventLog.open(
            configuration: .init(path: directory + "/log.sqlite"), logger: Logger(label: "test"))
        var configuration = EventHandling.Configuration()
        configuration.firstBackoff = .milliseconds(1)
        configuration.attempts = 3
        let handling = EventHandling(
            eventLog: log, topics: Self.topics, consumer: "test", configuration: configuration, logger: Logger(label: "test"))
        let attempts = Mutex(0)
        let good = try requested("o1")
        var broken = good
        broken.value = Array("not json".utf8)
        let noEnvelope = ConsumedRecord(
            topic: "orders", partition: 0, offset: 9, key: nil, value: [1], headers: [], timestamp: Date())
        try await handling.dispatch([noEnvelope, broken, good]) { event in
            _ = try event.decodeData(CommerceEvent.PaymentRequested.self)
            attempts.withLock { $0 += 1 }
            throw HandlerRefused()
        }
        #expect(attempts.withLock { $0 } == 3)
        let consumer = try await log.makeConsumer(
            ConsumerOptions(group: nil, topics: [Self.topics.deadLetter], fromBeginning: true))
        var dead: [ConsumedRecord] = []
        while dead.count < 3 {
            let batch = try await consumer.poll(maxRecords: 10, timeout: .seconds(5))
            if batch.isEmpty { break }
            dead += batch
        }
        // Records of different keys are handled side by side: compare without order.
        #expect(dead.compactMap { $0.header("dlq-error-class") }.sorted() == ["processing", "validation", "validation"])
        let failed = dead.first { $0.header("dlq-error-class") == "processing" }
        #expect(failed?.header("dlq-attempts") == "3")
        #expect(failed?.header("dlq-source-topic") == Self.topics.paymentRequested)
        await consumer.close()
        await log.close()
        try? FileManager.default.removeItem(atPath: directory)
    }

    struct HandlerRefused: Error {}
}
