import Foundation
import MeridianCore
import Testing

@testable import MeridianContracts

@Suite struct CommerceEventTests {
    @Test func anEventDeclaresItsTypeTopicSourceAndKey() throws {
        let topics = Topics(prefix: "prod.")
        let confirmed = OrderConfirmed(
            orderID: "o1", userID: "u1", totalCents: 1999, currency: "EUR", paymentID: "p1",
            confirmedAt: "2026-11-30T10:00:00.000Z")
        let record = try confirmed.record(topics: topics)
        #expect(record.topic == "prod.orders")
        #expect(record.key == Array("o1".utf8))
        let event = try #require(
            CloudEvent(
                record: ConsumedRecord(
                    topic: record.topic, partition: 0, offset: 0, key: record.key, value: record.value, headers: record.headers,
                    timestamp: Date())))
        #expect(event.type == "order.confirmed")
        #expect(event.source == "/meridian/orders")
        #expect(try CommerceEvent(event) == .orderConfirmed(confirmed))
        // The data is the contract's, snake_case.
        let data = try #require(try JSONSerialization.jsonObject(with: Data(event.data)) as? [String: Any])
        #expect(Set(data.keys) == ["order_id", "user_id", "total_cents", "currency", "payment_id", "confirmed_at"])
    }

    @Test func everyContractEventHasItsOwnTypeAndTopic() throws {
        let topics = Topics()
        let events: [(any DomainEvent, String, String)] = [
            (
                OrderCreated(
                    orderID: "o", userID: "u", items: [], totalCents: 0, currency: "EUR", createdAt: "t", fromCart: true),
                "order.created", topics.orders
            ),
            (OrderFailed(orderID: "o", userID: "u", reason: "r"), "order.failed", topics.orders),
            (OrderCancelled(orderID: "o", userID: "u", reason: "r"), "order.cancelled", topics.orders),
            (
                PaymentRequested(orderID: "o", userID: "u", amountCents: 1, currency: "EUR", paymentMethod: "pm_card_visa"),
                "payment.requested", topics.paymentRequested
            ),
            (
                PaymentSucceeded(orderID: "o", paymentID: "p", amountCents: 1, currency: "EUR", processedAt: "t"),
                "payment.succeeded", topics.paymentSucceeded
            ),
            (PaymentFailed(orderID: "o", reason: "r"), "payment.failed", topics.paymentFailed),
            (
                PaymentRefunded(orderID: "o", paymentID: "p", amountCents: 1, currency: "EUR", refundedAt: "t"),
                "payment.refunded", topics.paymentRefunded
            ),
            (ProductDeleted(productID: "p", deletedAt: "t"), "product.deleted", topics.productDeleted),
        ]
        for (event, type, topic) in events {
            let record = try event.record(topics: topics)
            #expect(record.topic == topic, "\(type)")
            #expect(record.headers.first { $0.name == "ce_type" }?.stringValue == type)
            let consumed = ConsumedRecord(
                topic: record.topic, partition: 0, offset: 0, key: record.key, value: record.value, headers: record.headers,
                timestamp: Date())
            #expect(try CommerceEvent(try #require(CloudEvent(record: consumed))) != nil, "\(type) decodes")
        }
    }

    @Test func anUnknownTypeIsSkippedAndUnreadableDataIsAnError() throws {
        let other = CloudEvent(id: "e1", source: "/x", type: "page.viewed", time: Date(), data: Array("{}".utf8))
        #expect(try CommerceEvent(other) == nil)
        let broken = CloudEvent(id: "e2", source: "/x", type: "order.confirmed", time: Date(), data: Array("{}".utf8))
        #expect(throws: UnreadableEvent.self) { try CommerceEvent(broken) }
    }

    @Test func orderLinesFollowTheRulesWhoeverSendsThem() throws {
        try StockRequest.validate([StockRequest(productID: ProductID("p1"), quantity: 1000)])
        #expect(throws: FieldViolation(field: "items", "must hold 1 to 100 lines")) { try StockRequest.validate([]) }
        #expect(throws: FieldViolation(field: "items.1.quantity", "must be between 1 and 1000")) {
            try StockRequest.validate([
                .init(productID: ProductID("p1"), quantity: 1), .init(productID: ProductID("p2"), quantity: 0),
            ])
        }
        #expect(throws: FieldViolation.self) { try StockRequest.validate([.init(productID: ProductID("p\u{0}"), quantity: 1)]) }
        #expect(throws: FieldViolation.self) {
            try StockRequest.validate(Array(repeating: .init(productID: ProductID("p"), quantity: 1), count: 101), field: "cart")
        }
    }

    @Test func idsAreTheirTextOnTheWire() throws {
        let encoded = try JSONEncoder().encode([OrderID("o1")])
        #expect(String(decoding: encoded, as: UTF8.self) == #"["o1"]"#)
        #expect(try JSONDecoder().decode(UserID.self, from: Data(#""u1""#.utf8)) == UserID("u1"))
    }
}
