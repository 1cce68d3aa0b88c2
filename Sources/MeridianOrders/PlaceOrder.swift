import Foundation
import HTTPTypes
import MeridianContracts
import MeridianCore
import MeridianHTTP

/// Placing an order: the items (sent, or the cart's), their stock held through the products service's
/// port, the order written with its events, and the hold given back when the order is not written.
/// `POST /api/orders` calls it; it knows nothing of HTTP but the problems its refusals become.
public struct PlaceOrder: Sendable {
    /// What the customer asked for.
    public struct Request: Sendable {
        public var user: UserID
        /// The lines; nil orders what the cart holds.
        public var items: [StockRequest]?
        public var paymentMethod: String
        public var idempotencyKey: String?
        /// The id a new order gets; nil for a fresh one (a caller that watches the order first names it).
        public var id: OrderID?

        public init(
            user: UserID, items: [StockRequest]?, paymentMethod: String, idempotencyKey: String?, id: OrderID? = nil
        ) {
            self.user = user
            self.items = items
            self.paymentMethod = paymentMethod
            self.idempotencyKey = idempotencyKey
            self.id = id
        }
    }

    /// What came of it.
    public enum Outcome: Sendable, Hashable {
        case placed(Order)
        /// The idempotency key was used before: the order placed then.
        case replayed(Order)
    }

    /// Why an order cannot be placed: each a 4xx problem naming the field.
    public enum Refusal: Error, Hashable, ProblemConvertible {
        case emptyCart
        case unknownProduct(ProductID)
        case shortOfStock(ProductID, requested: Int, available: Int)
        case mixedCurrencies([String])

        public var problem: ProblemDetails {
            switch self {
            case .emptyCart:
                return ProblemDetails(
                    .unprocessableContent, slug: "empty-cart", detail: "the cart is empty: add items or send items",
                    field: "items")
            case .unknownProduct(let product):
                return ProblemDetails(
                    .unprocessableContent, slug: "unknown-product", detail: "no product \(product.rawValue)", field: "items")
            case .shortOfStock(let product, let requested, let available):
                return ProblemDetails(
                    .conflict, slug: "insufficient-stock",
                    detail: "product \(product.rawValue): \(requested) requested, \(available) available", field: "items")
            case .mixedCurrencies(let currencies):
                return ProblemDetails(
                    .unprocessableContent, slug: "mixed-currencies",
                    detail: "an order is paid in one currency; these items are in \(currencies.joined(separator: ", "))",
                    field: "items")
            }
        }
    }

    let orders: any OrderStore
    let catalog: any ProductCatalog
    let carts: any CartContents
    /// How long the stock stays held while the order awaits payment.
    let reservationTTL: Duration
    let newID: @Sendable () -> OrderID
    let clock: @Sendable () -> Date

    public init(
        orders: any OrderStore, catalog: any ProductCatalog, carts: any CartContents, reservationTTL: Duration,
        newID: @escaping @Sendable () -> OrderID = { OrderID(RandomID.uuidString()) },
        clock: @escaping @Sendable () -> Date = { Date() }
    ) {
        self.orders = orders
        self.catalog = catalog
        self.carts = carts
        self.reservationTTL = reservationTTL
        self.newID = newID
        self.clock = clock
    }

    /// Places the order; throws ``Refusal`` or ``FieldViolation`` for what the customer must change.
    public func callAsFunction(_ request: Request) async throws -> Outcome {
        if let key = request.idempotencyKey, let existing = try await orders.find(user: request.user, idempotencyKey: key) {
            return .replayed(existing)
        }
        guard (4...100).contains(request.paymentMethod.utf8.count), request.paymentMethod.hasPrefix("pm_"),
            request.paymentMethod.utf8.allSatisfy({
                $0 == UInt8(ascii: "_") || (48...57).contains($0) || (65...90).contains($0) || (97...122).contains($0)
            })
        else {
            throw FieldViolation(field: "payment_method", "must be a payment method token such as pm_card_visa")
        }
        let id = request.id ?? newID()
        let fromCart = request.items == nil
        let items: [StockRequest]
        if let sent = request.items {
            try StockRequest.validate(sent)
            items = sent
        } else {
            // The cart's lines leave it now, so a second order placed before this one settles cannot include them.
            items = try await carts.checkout(of: request.user, for: id)
            guard !items.isEmpty else { throw Refusal.emptyCart }
        }
        // From here on the cart's lines are taken: every way out that writes no order gives them back, and the
        // stock too once it is held.
        var holdsStock = false
        do {
            if fromCart { try StockRequest.validate(items, field: "cart") }
            let now = clock()
            let expiresAt = now.addingTimeInterval(reservationTTL.timeInterval)
            let reserved: [ReservedItem]
            switch try await catalog.reserve(order: id, items: items, expiresAt: expiresAt) {
            case .reserved(let held): reserved = held
            case .unknownProduct(let product): throw Refusal.unknownProduct(product)
            case .shortOfStock(let product, let requested, let available):
                throw Refusal.shortOfStock(product, requested: requested, available: available)
            }
            holdsStock = true
            let currencies = Set(reserved.map(\.product.currency))
            guard currencies.count == 1, let currency = currencies.first else {
                throw Refusal.mixedCurrencies(currencies.sorted())
            }
            let lines = reserved.map {
                OrderItem(
                    productID: $0.product.id.rawValue, name: $0.product.name, unitPriceCents: $0.product.priceCents,
                    quantity: $0.quantity)
            }
            var total = 0
            for line in lines {
                total = try CheckedMath.add(
                    total, try CheckedMath.multiply(line.unitPriceCents, line.quantity, field: "items"), field: "items")
            }
            let order = Order(
                id: id, userID: request.user, status: .awaitingPayment, items: lines, totalCents: total, currency: currency,
                paymentMethod: request.paymentMethod, paymentID: nil, reason: nil, idempotencyKey: request.idempotencyKey,
                createdAt: now, updatedAt: now, expiresAt: expiresAt)
            switch try await orders.create(order, fromCart: fromCart) {
            case .created(let order):
                return .placed(order)
            case .existing(let existing):
                // The same key raced in twice: the first order stands, this attempt's stock and lines go back.
                try await catalog.release(order: id)
                if fromCart { try await carts.restore(order: id) }
                return .replayed(existing)
            }
        } catch {
            if holdsStock { try? await catalog.release(order: id) }
            if fromCart { try? await carts.restore(order: id) }
            throw error
        }
    }
}
