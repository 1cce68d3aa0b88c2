import Foundation
import MeridianContracts
import MeridianCore
import Synchronization
import Testing

@testable import MeridianOrders

/// Orders kept in memory: what the use case's tests need of the orders' store, nothing more.
final class InMemoryOrders: OrderStore {
    let orders = Mutex<[OrderID: Order]>([:])
    let failCreate = Mutex(false)
    /// Makes `create` answer `.existing` with this order, as when the same key raced in from elsewhere.
    let racedBy = Mutex<Order?>(nil)

    func create(_ order: Order, fromCart: Bool) async throws -> OrderCreation {
        if failCreate.withLock({ $0 }) { throw OrderStoreError.conflict(order.id) }
        if let raced = racedBy.withLock({ $0 }) { return .existing(raced) }
        return orders.withLock { orders in
            if let key = order.idempotencyKey,
                let existing = orders.values.first(where: { $0.userID == order.userID && $0.idempotencyKey == key })
            {
                return .existing(existing)
            }
            orders[order.id] = order
            return .created(order)
        }
    }

    func find(_ id: OrderID) async throws -> Order? { orders.withLock { $0[id] } }

    func find(user: UserID, idempotencyKey: String) async throws -> Order? {
        orders.withLock { $0.values.first { $0.userID == user && $0.idempotencyKey == idempotencyKey } }
    }

    func list(user: UserID?, status: OrderStatus?, offset: Int, limit: Int) async throws -> (orders: [Order], total: Int) {
        let all = orders.withLock { Array($0.values) }
        return (all, all.count)
    }

    func apply(_ event: OrderLifecycle.Event, to order: OrderID, eventID: String?, at now: Date) async throws -> Order? { nil }

    func expired(before now: Date, limit: Int) async throws -> [OrderID] { [] }
}

/// A catalog of a few products, with the holds it gave.
final class FakeCatalog: ProductCatalog {
    let products: [ProductID: ProductSummary]
    let held = Mutex<[OrderID: [StockRequest]]>([:])
    let releases = Mutex<[OrderID]>([])

    init(_ products: [ProductSummary]) {
        self.products = Dictionary(uniqueKeysWithValues: products.map { ($0.id, $0) })
    }

    func product(_ id: ProductID) async throws -> ProductSummary? { products[id] }

    func reserve(order: OrderID, items: [StockRequest], expiresAt: Date) async throws -> ReservationOutcome {
        for item in items {
            guard let product = products[item.productID] else { return .unknownProduct(item.productID) }
            if item.quantity > product.available {
                return .shortOfStock(item.productID, requested: item.quantity, available: product.available)
            }
        }
        held.withLock { $0[order] = items }
        return .reserved(items.map { ReservedItem(product: products[$0.productID]!, quantity: $0.quantity) })
    }

    func release(order: OrderID) async throws {
        releases.withLock { $0.append(order) }
        _ = held.withLock { $0.removeValue(forKey: order) }
    }
}

/// A cart in memory: checkout takes its lines into an order, restore puts them back.
final class FakeCart: CartContents {
    let lines: Mutex<[StockRequest]>
    let taken = Mutex<[OrderID: [StockRequest]]>([:])

    init(lines: [StockRequest]) { self.lines = Mutex(lines) }

    func checkout(of user: UserID, for order: OrderID) async throws -> [StockRequest] {
        if let taken = taken.withLock({ $0[order] }) { return taken }
        let lines = self.lines.withLock { lines in
            defer { lines = [] }
            return lines
        }
        if !lines.isEmpty { taken.withLock { $0[order] = lines } }
        return lines
    }

    func restore(order: OrderID) async throws {
        guard let lines = taken.withLock({ $0.removeValue(forKey: order) }) else { return }
        self.lines.withLock { $0 += lines }
    }
}

@Suite struct PlaceOrderTests {
    let mug = ProductSummary(id: ProductID("mug"), name: "Mug", priceCents: 1250, currency: "EUR", available: 5)
    let lamp = ProductSummary(id: ProductID("lamp"), name: "Lamp", priceCents: 4000, currency: "EUR", available: 1)
    let book = ProductSummary(id: ProductID("book"), name: "Book", priceCents: 900, currency: "USD", available: 9)
    let ada = UserID("ada")

    func place(
        _ orders: InMemoryOrders, _ catalog: FakeCatalog, cart: [StockRequest] = [], items: [StockRequest]?,
        method: String = "pm_card_visa", key: String? = nil
    ) async throws -> PlaceOrder.Outcome {
        try await place(orders, catalog, cart: FakeCart(lines: cart), items: items, method: method, key: key)
    }

    func place(
        _ orders: InMemoryOrders, _ catalog: FakeCatalog, cart: FakeCart, items: [StockRequest]?,
        method: String = "pm_card_visa", key: String? = nil
    ) async throws -> PlaceOrder.Outcome {
        let placeOrder = PlaceOrder(
            orders: orders, catalog: catalog, carts: cart, reservationTTL: .seconds(600),
            clock: { Date(timeIntervalSince1970: 1_800_000_000) })
        return try await placeOrder(.init(user: ada, items: items, paymentMethod: method, idempotencyKey: key))
    }

    @Test func itemsAreHeldSnapshottedAndTotalled() async throws {
        let orders = InMemoryOrders()
        let catalog = FakeCatalog([mug, lamp])
        let outcome = try await place(
            orders, catalog, items: [.init(productID: mug.id, quantity: 2), .init(productID: lamp.id, quantity: 1)])
        guard case .placed(let order) = outcome else {
            Issue.record("not placed: \(outcome)")
            return
        }
        #expect(order.status == .awaitingPayment)
        #expect(order.totalCents == 2 * 1250 + 4000 && order.currency == "EUR")
        #expect(order.items.map(\.name) == ["Mug", "Lamp"])
        #expect(order.expiresAt == Date(timeIntervalSince1970: 1_800_000_600))
        #expect(catalog.held.withLock { $0[order.id] }?.count == 2)
        #expect(catalog.releases.withLock { $0 }.isEmpty)
    }

    @Test func theCartIsOrderedWhenNoItemsAreSentAndAnEmptyCartIsRefused() async throws {
        let orders = InMemoryOrders()
        let catalog = FakeCatalog([mug])
        guard
            case .placed(let order) = try await place(orders, catalog, cart: [.init(productID: mug.id, quantity: 3)], items: nil)
        else {
            Issue.record("the cart was not ordered")
            return
        }
        #expect(order.totalCents == 3750)
        await #expect(throws: PlaceOrder.Refusal.emptyCart) { try await place(orders, catalog, items: nil) }
    }

    @Test func anOrderedCartIsEmptyUntilAnOrderThatIsNotWrittenGivesItsLinesBack() async throws {
        let orders = InMemoryOrders()
        let catalog = FakeCatalog([mug, lamp])
        let cart = FakeCart(lines: [.init(productID: mug.id, quantity: 1)])
        guard case .placed = try await place(orders, catalog, cart: cart, items: nil) else {
            Issue.record("the cart was not ordered")
            return
        }
        // The lines went into that order: ordering the cart again finds nothing, so nothing is ordered twice.
        await #expect(throws: PlaceOrder.Refusal.emptyCart) { try await place(orders, catalog, cart: cart, items: nil) }
        // A refused order gives the lines back, for another try.
        cart.lines.withLock { $0 = [.init(productID: lamp.id, quantity: 2)] }
        await #expect(throws: PlaceOrder.Refusal.shortOfStock(lamp.id, requested: 2, available: 1)) {
            try await place(orders, catalog, cart: cart, items: nil)
        }
        #expect(cart.lines.withLock { $0 } == [.init(productID: lamp.id, quantity: 2)])
        #expect(cart.taken.withLock { $0.count } == 1, "only the placed order keeps lines")
        // So does an order the store could not write, with its stock.
        orders.failCreate.withLock { $0 = true }
        cart.lines.withLock { $0 = [.init(productID: mug.id, quantity: 1)] }
        await #expect(throws: OrderStoreError.self) { try await place(orders, catalog, cart: cart, items: nil) }
        #expect(cart.lines.withLock { $0 } == [.init(productID: mug.id, quantity: 1)])
    }

    @Test func aRetryWithTheSameKeyIsTheFirstOrder() async throws {
        let orders = InMemoryOrders()
        let catalog = FakeCatalog([mug])
        let first = try await place(orders, catalog, items: [.init(productID: mug.id, quantity: 1)], key: "k1")
        let again = try await place(orders, catalog, items: [.init(productID: mug.id, quantity: 1)], key: "k1")
        guard case .placed(let placed) = first, case .replayed(let replayed) = again else {
            Issue.record("\(first), \(again)")
            return
        }
        #expect(placed == replayed)
        #expect(catalog.held.withLock { $0.count } == 1, "nothing held twice")
    }

    @Test func refusalsHoldNothing() async throws {
        let orders = InMemoryOrders()
        let catalog = FakeCatalog([mug, lamp, book])
        await #expect(throws: PlaceOrder.Refusal.shortOfStock(lamp.id, requested: 2, available: 1)) {
            try await place(orders, catalog, items: [.init(productID: lamp.id, quantity: 2)])
        }
        await #expect(throws: PlaceOrder.Refusal.unknownProduct(ProductID("nope"))) {
            try await place(orders, catalog, items: [.init(productID: ProductID("nope"), quantity: 1)])
        }
        await #expect(throws: FieldViolation.self) {
            try await place(orders, catalog, items: [.init(productID: mug.id, quantity: 1)], method: "visa")
        }
        await #expect(throws: FieldViolation(field: "items.0.quantity", "must be between 1 and 1000")) {
            try await place(orders, catalog, items: [.init(productID: mug.id, quantity: Int.max)])
        }
        #expect(catalog.held.withLock { $0.isEmpty })
        #expect(orders.orders.withLock { $0.isEmpty })
    }

    @Test func whatIsHeldGoesBackWhenNoOrderIsWritten() async throws {
        let orders = InMemoryOrders()
        let catalog = FakeCatalog([mug, book])
        // Two currencies: refused after the hold.
        await #expect(throws: PlaceOrder.Refusal.mixedCurrencies(["EUR", "USD"])) {
            try await place(
                orders, catalog, items: [.init(productID: mug.id, quantity: 1), .init(productID: book.id, quantity: 1)])
        }
        #expect(catalog.releases.withLock { $0.count } == 1)
        // The store fails.
        orders.failCreate.withLock { $0 = true }
        await #expect(throws: OrderStoreError.self) {
            try await place(orders, catalog, items: [.init(productID: mug.id, quantity: 1)])
        }
        #expect(catalog.releases.withLock { $0.count } == 2)
        #expect(catalog.held.withLock { $0.isEmpty })
    }

    @Test func aKeyThatRacedInFromElsewhereKeepsTheFirstOrderAndGivesThisHoldBack() async throws {
        let orders = InMemoryOrders()
        let catalog = FakeCatalog([mug])
        guard case .placed(let first) = try await place(orders, catalog, items: [.init(productID: mug.id, quantity: 1)]) else {
            Issue.record("not placed")
            return
        }
        orders.racedBy.withLock { $0 = first }
        let outcome = try await place(orders, catalog, items: [.init(productID: mug.id, quantity: 1)], key: "raced")
        #expect(outcome == .replayed(first))
        #expect(catalog.releases.withLock { $0.count } == 1)
    }
}
