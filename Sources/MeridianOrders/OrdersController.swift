import Foundation
import HTTPTypes
import Hummingbird
import Logging
import MeridianAuth
import MeridianCore
import MeridianHTTP
import MeridianContracts
import Metrics

/// `meridian_orders_total{status}`: orders that reached each status.
public struct OrderMetrics: Sendable {
    let counters: [OrderStatus: Counter]

    public init(factory: any MetricsFactory = MetricsSystem.factory) {
        var counters: [OrderStatus: Counter] = [:]
        for status in OrderStatus.allCases {
            counters[status] = Counter(
                label: "meridian_orders_total", dimensions: [("status", status.metricLabel)], factory: factory)
        }
        self.counters = counters
    }

    public func reached(_ status: OrderStatus) {
        counters[status]?.increment()
    }
}

/// The orders role's API, under `/api/orders`: placing an order (from the cart or explicit items), and
/// reading one's own orders (admins: anyone's).
public struct OrdersController: APIRoutes {
    public struct Configuration: Sendable {
        /// How long an order's stock stays reserved while it awaits payment. Default 10 minutes.
        public var reservationTTL: Duration = .seconds(600)

        public init() {}
    }

    let orders: OrderStore
    let catalog: any ProductCatalog
    let carts: any CartContents
    let configuration: Configuration
    let metrics: OrderMetrics
    let logger: Logger

    public init(
        orders: OrderStore, catalog: any ProductCatalog, carts: any CartContents, configuration: Configuration = .init(),
        metrics: OrderMetrics, logger: Logger
    ) {
        self.orders = orders
        self.catalog = catalog
        self.carts = carts
        self.configuration = configuration
        self.metrics = metrics
        self.logger = logger
    }

    public func addRoutes(to router: some RouterMethods<MeridianRequestContext>) {
        let api = router.group("api/orders")
        api.post { request, context in try await self.place(request, context: context) }
        api.get { request, context in try await self.list(request, context: context) }
        api.get(":id") { _, context in try await self.read(context) }
    }

    struct Placement: Decodable {
        var items: [StockRequest]?
        var paymentMethod: String

        enum CodingKeys: String, CodingKey {
            case items
            case paymentMethod = "payment_method"
        }
    }

    struct OrderView: Encodable, Sendable {
        var id: String
        var userID: String
        var status: String
        var items: [OrderItem]
        var totalCents: Int
        var currency: String
        var paymentMethod: String
        var paymentID: String?
        var reason: String?
        var createdAt: String
        var updatedAt: String
        var expiresAt: String

        enum CodingKeys: String, CodingKey {
            case id, status, items, currency, reason
            case userID = "user_id"
            case totalCents = "total_cents"
            case paymentMethod = "payment_method"
            case paymentID = "payment_id"
            case createdAt = "created_at"
            case updatedAt = "updated_at"
            case expiresAt = "expires_at"
        }

        init(_ order: Order) {
            id = order.id
            userID = order.userID
            status = order.status.rawValue
            items = order.items
            totalCents = order.totalCents
            currency = order.currency
            paymentMethod = order.paymentMethod
            paymentID = order.paymentID
            reason = order.reason
            createdAt = Timestamp.format(order.createdAt)
            updatedAt = Timestamp.format(order.updatedAt)
            expiresAt = Timestamp.format(order.expiresAt)
        }
    }

    static let idempotencyKey = HTTPField.Name("Idempotency-Key")!
    static let replayed = HTTPField.Name("Idempotent-Replayed")!

    func place(_ request: Request, context: MeridianRequestContext) async throws -> Response {
        let user = try context.requirePrincipal().userID
        let key = request.headers[Self.idempotencyKey]
        if let key {
            guard (1...255).contains(key.utf8.count), key.unicodeScalars.allSatisfy({ (0x21...0x7E).contains($0.value) }) else {
                throw ProblemDetails(
                    .badRequest, slug: "invalid-header",
                    detail: "Idempotency-Key must be 1 to 255 visible ASCII characters", field: "Idempotency-Key")
            }
            if let existing = try await orders.find(user: user, idempotencyKey: key) {
                return replay(existing)
            }
        }
        let placement = try await decodeJSONBody(Placement.self, from: request, context: context)
        let method = placement.paymentMethod
        guard (4...100).contains(method.utf8.count), method.hasPrefix("pm_"),
            method.utf8.allSatisfy({
                $0 == UInt8(ascii: "_") || (48...57).contains($0) || (65...90).contains($0) || (97...122).contains($0)
            })
        else {
            throw ProblemDetails(
                .unprocessableContent, slug: "invalid-field",
                detail: "payment_method must be a payment method token such as pm_card_visa", field: "payment_method")
        }
        let fromCart = placement.items == nil
        let items = try await requestedItems(placement.items, user: user)

        let id = RandomID.uuidString()
        let now = Date()
        let expiresAt = now.addingTimeInterval(configuration.reservationTTL.timeInterval)
        let reserved: [ReservedItem]
        switch try await catalog.reserve(order: OrderID(id), items: items, expiresAt: expiresAt) {
        case .reserved(let held):
            reserved = held
        case .unknownProduct(let product):
            throw ProblemDetails(
                .unprocessableContent, slug: "unknown-product", detail: "no product \(product.rawValue)", field: "items")
        case .shortOfStock(let product, let requested, let available):
            throw ProblemDetails(
                .conflict, slug: "insufficient-stock",
                detail: "product \(product.rawValue): \(requested) requested, \(available) available", field: "items")
        }
        let currencies = Set(reserved.map(\.product.currency))
        guard currencies.count == 1, let currency = currencies.first else {
            try await catalog.release(order: OrderID(id))
            throw ProblemDetails(
                .unprocessableContent, slug: "mixed-currencies",
                detail: "an order is paid in one currency; these items are in \(currencies.sorted().joined(separator: ", "))",
                field: "items")
        }
        let lines = reserved.map {
            OrderItem(
                productID: $0.product.id.rawValue, name: $0.product.name, unitPriceCents: $0.product.priceCents,
                quantity: $0.quantity)
        }
        let order = Order(
            id: id, userID: user, status: .awaitingPayment, items: lines,
            totalCents: try lines.reduce(0) { total, line throws(FieldViolation) in
                try CheckedMath.add(
                    total, try CheckedMath.multiply(line.unitPriceCents, line.quantity, field: "items"), field: "items")
            }, currency: currency,
            paymentMethod: method, paymentID: nil, reason: nil, idempotencyKey: key, createdAt: now, updatedAt: now,
            expiresAt: expiresAt)
        do {
            switch try await orders.create(order, fromCart: fromCart) {
            case .created(let order):
                metrics.reached(.awaitingPayment)
                logger.info("order placed", metadata: ["order_id": "\(order.id)", "total_cents": "\(order.totalCents)"])
                return jsonResponse(OrderView(order), status: .created, headers: [.location: "/api/orders/\(order.id)"])
            case .existing(let existing):
                // The same key raced in twice: the first order stands, this attempt's stock goes back.
                try await catalog.release(order: OrderID(id))
                return replay(existing)
            }
        } catch {
            try? await catalog.release(order: OrderID(id))
            throw error
        }
    }

    private func replay(_ order: Order) -> Response {
        jsonResponse(OrderView(order), status: .ok, headers: [.location: "/api/orders/\(order.id)", Self.replayed: "true"])
    }

    private func requestedItems(_ items: [StockRequest]?, user: String) async throws -> [StockRequest] {
        guard let items else {
            let lines = try await carts.lines(of: UserID(user))
            guard !lines.isEmpty else {
                throw ProblemDetails(
                    .unprocessableContent, slug: "empty-cart", detail: "the cart is empty: add items or send items",
                    field: "items")
            }
            try StockRequest.validate(lines, field: "cart")
            return lines
        }
        try StockRequest.validate(items)
        return items
    }

    func list(_ request: Request, context: MeridianRequestContext) async throws -> Response {
        let principal = try context.requirePrincipal()
        var user: String? = principal.userID
        if principal.role == .admin { user = request.uri.queryParameters.get("user_id").map { String($0) } }
        var status: OrderStatus?
        if let text = request.uri.queryParameters.get("status") {
            guard let value = OrderStatus(rawValue: String(text)) else {
                throw ProblemDetails(
                    .badRequest, slug: "invalid-query",
                    detail: "status must be one of \(OrderStatus.allCases.map(\.rawValue).joined(separator: ", "))",
                    field: "status")
            }
            status = value
        }
        let page = try PageRequest(request)
        let (items, total) = try await orders.list(user: user, status: status, offset: page.offset, limit: page.perPage)
        return jsonResponse(PageView(items: items.map(OrderView.init), request: page, total: total))
    }

    func read(_ context: MeridianRequestContext) async throws -> Response {
        jsonResponse(OrderView(try await context.ownResource("order", find: { try await orders.find($0) }, owner: \.userID)))
    }
}
