import Foundation
import HTTPTypes
import Hummingbird
import Logging
import MeridianAuth
import MeridianContracts
import MeridianCore
import MeridianHTTP
import MeridianMessaging
import MeridianStorage

/// The carts role's API, under `/api/cart`: the signed-in user's own cart only.
public struct CartsController: APIRoutes {
    let carts: any CartStore
    let catalog: any ProductCatalog
    let logger: Logger

    public init(carts: any CartStore, catalog: any ProductCatalog, logger: Logger) {
        self.carts = carts
        self.catalog = catalog
        self.logger = logger
    }

    public func addRoutes(to router: some RouterMethods<MeridianRequestContext>) {
        let api = router.group("api/cart")
        api.get { _, context in try await self.cart(context) }
        api.delete { _, context in
            try await self.carts.clear(for: try context.requirePrincipal().userID)
            return try await self.cart(context)
        }
        api.post("items") { request, context in try await self.add(request, context: context) }
        api.put("items/:product_id") { request, context in try await self.set(request, context: context) }
        api.delete("items/:product_id") { _, context in try await self.remove(context) }
    }

    struct NewLine: Decodable {
        var productID: String
        var quantity: Int

        enum CodingKeys: String, CodingKey {
            case productID = "product_id"
            case quantity
        }
    }

    struct Quantity: Decodable {
        var quantity: Int
    }

    struct LineView: Encodable {
        var productID: String
        var name: String
        var unitPriceCents: Int
        var currency: String
        var quantity: Int
        var lineTotalCents: Int

        enum CodingKeys: String, CodingKey {
            case name, currency, quantity
            case productID = "product_id"
            case unitPriceCents = "unit_price_cents"
            case lineTotalCents = "line_total_cents"
        }
    }

    struct CartView: Encodable {
        var items: [LineView]
        /// One total per currency: money is never summed across currencies.
        var totals: [String: Int]
        var itemCount: Int

        enum CodingKeys: String, CodingKey {
            case items, totals
            case itemCount = "item_count"
        }
    }

    /// The cart with current prices; lines of products that no longer exist are left out.
    func cart(_ context: MeridianRequestContext) async throws -> Response {
        let user = try context.requirePrincipal().userID
        var items: [LineView] = []
        var totals: [String: Int] = [:]
        for (productID, quantity) in try await carts.lines(of: user) {
            guard let product = try await catalog.product(productID) else { continue }
            let line = LineView(
                productID: productID.rawValue, name: product.name, unitPriceCents: product.priceCents,
                currency: product.currency, quantity: quantity,
                lineTotalCents: try CheckedMath.multiply(product.priceCents, quantity, field: "quantity"))
            totals[product.currency] = try CheckedMath.add(totals[product.currency] ?? 0, line.lineTotalCents, field: "items")
            items.append(line)
        }
        let count = try items.reduce(0) { count, line throws(FieldViolation) in
            try CheckedMath.add(count, line.quantity, field: "items")
        }
        return jsonResponse(CartView(items: items, totals: totals, itemCount: count))
    }

    func add(_ request: Request, context: MeridianRequestContext) async throws -> Response {
        let user = try context.requirePrincipal().userID
        let line = try await decodeJSONBody(NewLine.self, from: request, context: context)
        try Self.check(line.quantity, allowZero: false)
        let productID = ProductID(rawValue: try TextRules.check(line.productID, field: "product_id", maxCharacters: 100))
        guard try await catalog.product(productID) != nil else {
            throw ProblemDetails(
                .unprocessableContent, slug: "unknown-product", detail: "no product \(line.productID)", field: "product_id")
        }
        guard
            let total = try await carts.add(
                line.quantity, of: productID, for: user, maxQuantity: StockRequest.maxQuantity,
                maxLines: StockRequest.maxLines)
        else {
            throw ProblemDetails(
                .unprocessableContent, slug: "invalid-field",
                detail: "a cart holds at most \(StockRequest.maxLines) products", field: "product_id")
        }
        guard total <= StockRequest.maxQuantity else { throw Self.tooMany }
        return try await cart(context)
    }

    func set(_ request: Request, context: MeridianRequestContext) async throws -> Response {
        let user = try context.requirePrincipal().userID
        let change = try await decodeJSONBody(Quantity.self, from: request, context: context)
        try Self.check(change.quantity, allowZero: true)
        let productID = ProductID(rawValue: context.parameter("product_id"))
        guard try await carts.set(change.quantity, of: productID, for: user) else {
            throw ProblemDetails(.notFound, slug: "not-found", detail: "no line for product \(productID.rawValue) in the cart")
        }
        return try await cart(context)
    }

    func remove(_ context: MeridianRequestContext) async throws -> Response {
        let user = try context.requirePrincipal().userID
        let productID = ProductID(rawValue: context.parameter("product_id"))
        guard try await carts.set(0, of: productID, for: user) else {
            throw ProblemDetails(.notFound, slug: "not-found", detail: "no line for product \(productID.rawValue) in the cart")
        }
        return try await cart(context)
    }

    private static let tooMany = ProblemDetails(
        .unprocessableContent, slug: "invalid-field", detail: "quantity: at most \(StockRequest.maxQuantity) of one product",
        field: "quantity")

    private static func check(_ quantity: Int, allowZero: Bool) throws {
        guard quantity >= (allowZero ? 0 : 1) else {
            throw ProblemDetails(
                .unprocessableContent, slug: "invalid-field",
                detail: "quantity must be \(allowZero ? "0 (to remove) or more" : "at least 1")", field: "quantity")
        }
        guard quantity <= StockRequest.maxQuantity else { throw tooMany }
    }
}

/// The carts service's consumer: removes the lines of deleted products from every cart (`product.deleted`),
/// and clears the lines an order was placed from once it is confirmed (`orders`).
public struct CartEventHandler: Sendable {
    let carts: any CartStore
    let logger: Logger

    public init(carts: any CartStore, logger: Logger) {
        self.carts = carts
        self.logger = logger
    }

    /// Applies each event once (the inbox).
    public func handle(_ event: CloudEvent) async throws {
        switch try CommerceEvent(event) {
        case .productDeleted(let deleted)?:
            if try await carts.applyProductDeleted(eventID: event.id, product: ProductID(deleted.productID)) {
                logger.info("removed deleted product from carts", metadata: ["product_id": "\(deleted.productID)"])
            }
        case .orderCreated(let created)?:
            if created.fromCart == true { try await carts.rememberOrderedLines(eventID: event.id, order: created) }
        case .orderConfirmed(let confirmed)?:
            try await carts.orderEnded(eventID: event.id, order: confirmed.orderID, confirmed: true)
        case .orderFailed(let failed)?:
            try await carts.orderEnded(eventID: event.id, order: failed.orderID, confirmed: false)
        case .orderCancelled(let cancelled)?:
            try await carts.orderEnded(eventID: event.id, order: cancelled.orderID, confirmed: false)
        default:
            break
        }
    }
}
