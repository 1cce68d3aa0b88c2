import Configuration
import Foundation
import MeridianTestSupport
import Testing

/// The order saga end to end over HTTP, with every role in one process as `meridian serve` runs them.
@Suite(.serialized) struct OrderFlowTests {
    /// Creates a product as admin; returns its id.
    func product(_ platform: AllInOne, _ admin: String, name: String, cents: Int, stock: Int) async throws -> String {
        let created = try await platform.call(
            "POST", "/api/products", token: admin,
            json: ["name": name, "category": "kitchen", "price_cents": cents, "currency": "EUR", "stock": stock])
        #expect(created.status == 201, "\(created)")
        return try #require(created.object["id"] as? String)
    }

    func stock(_ platform: AllInOne, _ id: String) async throws -> (stock: Int, reserved: Int, sold: Int) {
        let product = try await platform.call("GET", "/api/products/\(id)").object
        return (product["stock"] as? Int ?? -1, product["reserved"] as? Int ?? -1, product["sold"] as? Int ?? -1)
    }

    @Test func aPaidOrderIsConfirmedItsStockCommittedAndItsCartLinesCleared() async throws {
        try await AllInOne.with { platform in
            let admin = try await platform.admin()
            let mug = try await product(platform, admin, name: "Mug", cents: 1250, stock: 5)
            let lamp = try await product(platform, admin, name: "Lamp", cents: 4000, stock: 2)

            let ada = try await platform.customer("ada@example.com")
            let catalog = try await platform.call("GET", "/api/products?category=kitchen&sort=price")
            #expect(catalog.items.compactMap { $0["name"] as? String } == ["Mug", "Lamp"])
            #expect(
                try await platform.call("POST", "/api/cart/items", token: ada, json: ["product_id": mug, "quantity": 2]).status
                    == 200)
            #expect(
                try await platform.call("POST", "/api/cart/items", token: ada, json: ["product_id": lamp, "quantity": 1]).status
                    == 200)

            let key = ["Idempotency-Key": "ada-order-1"]
            let placed = try await platform.call(
                "POST", "/api/orders", token: ada, json: ["payment_method": "pm_card_visa"], headers: key)
            #expect(placed.status == 201, "\(placed)")
            #expect(placed.object["status"] as? String == "AWAITING_PAYMENT")
            #expect(placed.object["total_cents"] as? Int == 2 * 1250 + 4000)
            let id = try #require(placed.object["id"] as? String)
            // The ordered lines left the cart at once: ordering the cart again cannot order them twice.
            #expect(try await platform.call("GET", "/api/cart", token: ada).items.isEmpty)
            let again = try await platform.call("POST", "/api/orders", token: ada, json: ["payment_method": "pm_card_visa"])
            #expect(again.status == 422, "\(again)")

            // A price change after placing does not change the order: the price was snapshotted.
            #expect(
                try await platform.call("PATCH", "/api/products/\(mug)", token: admin, json: ["price_cents": 9999]).status == 200)

            // The retry with the same key is the same order, never a second one.
            let retried = try await platform.call(
                "POST", "/api/orders", token: ada, json: ["payment_method": "pm_card_visa"], headers: key)
            #expect(retried.status == 200)
            #expect(retried.object["id"] as? String == id)
            #expect(retried.headers["idempotent-replayed"] == "true")

            let confirmed = try await platform.eventually("/api/orders/\(id)", token: ada) {
                $0.object["status"] as? String == "CONFIRMED"
            }
            let items = try #require(confirmed.object["items"] as? [[String: Any]])
            #expect(items.first { $0["product_id"] as? String == mug }?["unit_price_cents"] as? Int == 1250)
            let paymentID = try #require(confirmed.object["payment_id"] as? String)

            // Confirmed: the lines stay out of the cart.
            #expect(try await platform.call("GET", "/api/cart", token: ada).items.isEmpty)
            // The products role commits the stock when it consumes order.confirmed: soon after, not at once.
            _ = try await platform.eventually("/api/products/\(mug)", token: nil) { $0.object["sold"] as? Int == 2 }
            let mugStock = try await stock(platform, mug)
            #expect(mugStock.stock == 3 && mugStock.reserved == 0 && mugStock.sold == 2)
            _ = try await platform.eventually("/api/products/\(lamp)", token: nil) { $0.object["sold"] as? Int == 1 }

            let payment = try await platform.call("GET", "/api/payments/\(paymentID)", token: ada)
            #expect(payment.object["status"] as? String == "succeeded")
            #expect(payment.object["amount_cents"] as? Int == 6500)
            #expect(try await platform.call("GET", "/api/orders", token: ada).items.count == 1)

            // Another customer can read neither the order nor the payment; an admin can.
            let bob = try await platform.customer("bob@example.com")
            #expect(try await platform.call("GET", "/api/orders/\(id)", token: bob).status == 403)
            #expect(try await platform.call("GET", "/api/payments/\(paymentID)", token: bob).status == 403)
            #expect(try await platform.call("GET", "/api/orders", token: bob).items.isEmpty)
            #expect(try await platform.call("GET", "/api/orders/\(id)", token: admin).status == 200)
            #expect(try await platform.call("GET", "/api/orders/\(id)").status == 401)

            // The customer is told, and only that customer sees the message.
            let notified = try await platform.eventually("/api/notifications", token: ada) {
                $0.items.first?["status"] as? String == "sent"
            }
            #expect(notified.items.count == 1)
            #expect(notified.items.first?["type"] as? String == "order.confirmed")
            #expect(notified.items.first?["subject"] as? String == "Your order \(id) is confirmed")
            #expect(notified.items.first?["channel"] as? String == "log")
            #expect(try await platform.call("GET", "/api/notifications", token: bob).items.isEmpty)

            let metrics = String(decoding: try await platform.call("GET", "/metrics").body, as: UTF8.self)
            #expect(metrics.contains(#"meridian_orders_total{status="confirmed"} 1"#))
            #expect(metrics.contains(#"meridian_payments_total{outcome="succeeded"} 1"#))

            // The analytics role counts the order in its minute: provisional (final false) while the window is open.
            let minute = try await platform.eventually("/api/analytics/orders", token: admin) {
                $0.items.contains { ($0["metrics"] as? [String: Any])?["order_count"] as? Int == 1 }
            }
            let window = try #require(minute.items.last?["metrics"] as? [String: Any])
            #expect(window["revenue_cents"] as? Int == 6500)
            #expect(window["unique_users"] as? Int == 1)
            #expect(window["avg_order_value_cents"] as? Int == 6500)
            #expect(try await platform.call("GET", "/api/analytics/orders", token: ada).status == 403)
            let adaID = try #require(try await platform.call("GET", "/api/users/me", token: ada).object["id"] as? String)
            let tier = try await platform.eventually("/api/analytics/users/\(adaID)/tier", token: ada) {
                $0.object["lifetime_spent_cents"] as? Int == 6500
            }
            #expect(tier.object["tier"] as? String == "Regular")
            #expect(try await platform.call("GET", "/api/analytics/users/\(adaID)/tier", token: bob).status == 403)
            #expect(try await platform.call("GET", "/api/analytics/users/\(adaID)/tier", token: admin).status == 200)
            // Before any order: 0, Regular, and as_of null (present, as the API document says).
            let bobID = try #require(try await platform.call("GET", "/api/users/me", token: bob).object["id"] as? String)
            let none = try await platform.call("GET", "/api/analytics/users/\(bobID)/tier", token: bob).object
            #expect(none["lifetime_spent_cents"] as? Int == 0 && none["tier"] as? String == "Regular")
            #expect(none["as_of"] is NSNull, "\(none)")
            // Client mistakes are problems naming the field.
            for (query, field, status) in [
                ("/api/analytics/orders?from=yesterday", "from", 400), ("/api/analytics/orders?limit=0", "limit", 400),
                ("/api/analytics/orders?key=%00", "key", 400), ("/api/analytics/nope", "job", 404),
                ("/api/analytics/orders?from=2026-11-30T10:00:00Z&to=2026-11-30T09:00:00Z", "to", 400),
                ("/api/analytics/orders?from=99999-01-01T00:00:00Z", "from", 400),
            ] {
                let answer = try await platform.call("GET", query, token: admin)
                #expect(answer.status == status, "\(query): \(answer)")
                #expect(answer.object["field"] as? String == field, "\(query)")
                #expect(answer.headers["content-type"] == "application/problem+json", "\(query)")
            }
        }
    }

    @Test func aDeclinedPaymentFailsTheOrderAndReleasesTheStock() async throws {
        try await AllInOne.with { platform in
            let admin = try await platform.admin()
            let mug = try await product(platform, admin, name: "Mug", cents: 1250, stock: 5)
            let ada = try await platform.customer("ada@example.com")
            #expect(
                try await platform.call("POST", "/api/cart/items", token: ada, json: ["product_id": mug, "quantity": 3]).status
                    == 200)

            let placed = try await platform.call(
                "POST", "/api/orders", token: ada, json: ["payment_method": "pm_card_chargeDeclined"])
            #expect(placed.status == 201, "\(placed)")
            let id = try #require(placed.object["id"] as? String)
            #expect(try await stock(platform, mug).reserved == 3)

            let failed = try await platform.eventually("/api/orders/\(id)", token: ada) {
                $0.object["status"] as? String == "FAILED"
            }
            #expect(failed.object["reason"] as? String == "card_declined")
            _ = try await platform.eventually("/api/products/\(mug)", token: nil) { $0.object["reserved"] as? Int == 0 }
            let after = try await stock(platform, mug)
            #expect(after.stock == 5 && after.sold == 0)
            // The lines come back to the cart, to try again with another card.
            let cart = try await platform.eventually("/api/cart", token: ada) { $0.items.count == 1 }
            #expect(cart.items.first?["quantity"] as? Int == 3)
            let payments = try await platform.call("GET", "/api/payments?order_id=\(id)", token: ada)
            #expect(payments.items.first?["status"] as? String == "failed")
        }
    }

    @Test func preferWaitAnswersOnceThePaymentSettledAndNoLaterThanTheWaitAsked() async throws {
        // The provider takes 300 ms, so an answer without waiting is still AWAITING_PAYMENT.
        try await AllInOne.with(["payments.latencyMs": .init(.int(300), isSecret: false)]) { platform in
            let admin = try await platform.admin()
            let mug = try await product(platform, admin, name: "Mug", cents: 1250, stock: 5)
            let ada = try await platform.customer("ada@example.com")
            let order = ["payment_method": "pm_card_visa", "items": [["product_id": mug, "quantity": 1]]] as [String: Any]

            let placed = try await platform.call(
                "POST", "/api/orders", token: ada, json: order, headers: ["Prefer": "wait=10"])
            #expect(placed.status == 201, "\(placed)")
            #expect(placed.object["status"] as? String == "CONFIRMED")
            #expect(placed.headers["preference-applied"] == "wait=10")

            // On a read: a declined order is answered FAILED once the payment failed.
            let declined = try await platform.call(
                "POST", "/api/orders", token: ada, json: ["payment_method": "pm_card_chargeDeclined", "items": order["items"]!])
            #expect(declined.object["status"] as? String == "AWAITING_PAYMENT")
            let id = try #require(declined.object["id"] as? String)
            let read = try await platform.call("GET", "/api/orders/\(id)", token: ada, headers: ["Prefer": "wait=10"])
            #expect(read.object["status"] as? String == "FAILED")

            // The wait asked bounds the answer: one second, then the order as it is. More than the maximum is the maximum;
            // a malformed preference is ignored, never an error.
            let slow = try await platform.call(
                "POST", "/api/orders", token: ada,
                json: ["payment_method": "pm_card_visa", "items": order["items"]!], headers: ["Prefer": "wait=0"])
            #expect(slow.object["status"] as? String == "AWAITING_PAYMENT")
            #expect(slow.headers["preference-applied"] == "wait=0")
            for garbage in ["wait=-1", "wait=abc", "wait", "respond-async, wait=1e3", String(repeating: "w", count: 4000)] {
                let answer = try await platform.call(
                    "GET", "/api/orders/\(id)", token: ada, headers: ["Prefer": garbage])
                #expect(answer.status == 200, "\(garbage): \(answer)")
                #expect(answer.headers["preference-applied"] == nil)
            }
            let capped = try await platform.call(
                "GET", "/api/orders/\(id)", token: ada, headers: ["Prefer": "wait=99999999999999999999999"])
            #expect(capped.headers["preference-applied"] == "wait=30")
        }
    }

    @Test func anUnpaidOrderIsCancelledWhenItsReservationExpiresAndALatePaymentIsRefunded() async throws {
        // Reservations last one second; the provider takes three: the sweeper cancels first.
        try await AllInOne.with([
            "orders.reservationTtlSeconds": .init(.int(1), isSecret: false),
            "payments.latencyMs": .init(.int(3000), isSecret: false),
        ]) { platform in
            let admin = try await platform.admin()
            let mug = try await product(platform, admin, name: "Mug", cents: 1250, stock: 5)
            let ada = try await platform.customer("ada@example.com")
            let placed = try await platform.call(
                "POST", "/api/orders", token: ada,
                json: ["payment_method": "pm_card_visa", "items": [["product_id": mug, "quantity": 4]]])
            #expect(placed.status == 201, "\(placed)")
            let id = try #require(placed.object["id"] as? String)

            let cancelled = try await platform.eventually("/api/orders/\(id)", token: ada) {
                $0.object["status"] as? String == "CANCELLED"
            }
            #expect(cancelled.object["reason"] as? String == "reservation_expired")
            _ = try await platform.eventually("/api/products/\(mug)", token: nil) { $0.object["reserved"] as? Int == 0 }

            // The charge that finishes after the cancellation is given back, and the order stays cancelled.
            let refunded = try await platform.eventually("/api/payments?order_id=\(id)", token: ada) {
                $0.items.first?["status"] as? String == "refunded"
            }
            #expect(refunded.items.first?["refunded_at"] is String)
            #expect(try await platform.call("GET", "/api/orders/\(id)", token: ada).object["status"] as? String == "CANCELLED")
            let after = try await stock(platform, mug)
            #expect(after.stock == 5 && after.sold == 0)
        }
    }

    @Test func twoHundredConcurrentOrdersForTenUnitsConfirmExactlyTen() async throws {
        try await AllInOne.with { platform in
            let admin = try await platform.admin()
            let mug = try await product(platform, admin, name: "Mug", cents: 1250, stock: 10)
            var customers: [String] = []
            for number in 0..<20 { customers.append(try await platform.customer("c\(number)@example.com")) }
            let tokens = customers

            let statuses = try await withThrowingTaskGroup(of: (Int, String?).self) { group in
                for attempt in 0..<200 {
                    group.addTask {
                        let answer = try await platform.call(
                            "POST", "/api/orders", token: tokens[attempt % tokens.count],
                            json: ["payment_method": "pm_card_visa", "items": [["product_id": mug, "quantity": 1]]])
                        return (answer.status, answer.object["id"] as? String)
                    }
                }
                var all: [(Int, String?)] = []
                for try await result in group { all.append(result) }
                return all
            }
            let placed = statuses.filter { $0.0 == 201 }.compactMap(\.1)
            #expect(placed.count == 10)
            #expect(statuses.allSatisfy { $0.0 == 201 || $0.0 == 409 }, "\(Set(statuses.map(\.0)))")

            for id in placed {
                _ = try await platform.eventually("/api/orders/\(id)", token: admin) {
                    $0.object["status"] as? String == "CONFIRMED"
                }
            }
            let confirmed = try await platform.call("GET", "/api/orders?status=CONFIRMED&per_page=100", token: admin)
            #expect(confirmed.object["total"] as? Int == 10)
            _ = try await platform.eventually("/api/products/\(mug)", token: nil) { $0.object["sold"] as? Int == 10 }
            let after = try await stock(platform, mug)
            #expect(after.stock == 0 && after.reserved == 0)
            #expect(after.stock + after.sold == 10)
        }
    }

    @Test func clientMistakesAreProblemsNamingTheField() async throws {
        try await AllInOne.with { platform in
            let admin = try await platform.admin()
            let mug = try await product(platform, admin, name: "Mug", cents: 1250, stock: 1)
            let ada = try await platform.customer("ada@example.com")

            let cases: [(json: [String: Any], status: Int, field: String)] = [
                (["items": [["product_id": mug, "quantity": 1]]], 400, "payment_method"),
                (["payment_method": "visa"], 422, "payment_method"),
                (["payment_method": "pm_card_visa"], 422, "items"),
                (["payment_method": "pm_card_visa", "items": [["product_id": mug, "quantity": 0]]], 422, "items.0.quantity"),
                (["payment_method": "pm_card_visa", "items": [["product_id": "nope", "quantity": 1]]], 422, "items"),
                (["payment_method": "pm_card_visa", "items": [["product_id": mug, "quantity": 2]]], 409, "items"),
                (
                    ["payment_method": "pm_card_visa", "items": [["product_id": mug, "quantity": "two"]]], 400, "items.0.quantity"
                ),
            ]
            for (json, status, field) in cases {
                let answer = try await platform.call("POST", "/api/orders", token: ada, json: json)
                #expect(answer.status == status, "\(json): \(answer)")
                #expect(answer.headers["content-type"] == "application/problem+json")
                #expect(answer.object["field"] as? String == field, "\(json): \(answer)")
            }
            let short = try await platform.call(
                "POST", "/api/orders", token: ada,
                json: ["payment_method": "pm_card_visa", "items": [["product_id": mug, "quantity": 2]]])
            #expect((short.object["detail"] as? String)?.contains(mug) == true)
            #expect(try await platform.call("POST", "/api/orders", json: ["payment_method": "pm_card_visa"]).status == 401)
            #expect(try await platform.call("GET", "/api/orders?status=LOST", token: ada).status == 400)
            #expect(try await platform.call("GET", "/api/orders/nope", token: ada).status == 404)
            // Nothing was held by the refused orders.
            #expect(try await stock(platform, mug).reserved == 0)
        }
    }
}
