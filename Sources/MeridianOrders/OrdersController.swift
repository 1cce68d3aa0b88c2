import Foundation
import HTTPTypes
import Hummingbird
import Logging
import MeridianAuth
import MeridianContracts
import MeridianCore
import MeridianHTTP
import Metrics

/// The orders role's API, under `/api/orders`: placing an order (from the cart or explicit items), and
/// reading one's own orders (admins: anyone's).
public struct OrdersController: APIRoutes {
    public struct Configuration: Sendable {
        /// How long an order's stock stays reserved while it awaits payment. Default 10 minutes.
        public var reservationTTL: Duration = .seconds(600)

        public init() {}
    }

    let orders: any OrderStore
    let placeOrder: PlaceOrder
    let metrics: OrderMetrics
    let logger: Logger

    public init(
        orders: any OrderStore, catalog: any ProductCatalog, carts: any CartContents, configuration: Configuration = .init(),
        metrics: OrderMetrics, logger: Logger
    ) {
        self.orders = orders
        self.placeOrder = PlaceOrder(
            orders: orders, catalog: catalog, carts: carts, reservationTTL: configuration.reservationTTL)
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
            id = order.id.rawValue
            userID = order.userID.rawValue
            status = order.status.rawValue
            items = order.items
            totalCents = order.totalCents
            currency = order.currency
            paymentMethod = order.paymentMethod
            paymentID = order.paymentID?.rawValue
            reason = order.reason
            createdAt = Timestamp.format(order.createdAt)
            updatedAt = Timestamp.format(order.updatedAt)
            expiresAt = Timestamp.format(order.expiresAt)
        }
    }

    static let idempotencyKey = HTTPField.Name("Idempotency-Key")!
    static let replayed = HTTPField.Name("Idempotent-Replayed")!

    func place(_ request: Request, context: MeridianRequestContext) async throws -> Response {
        let user = UserID(try context.requirePrincipal().userID)
        let key = request.headers[Self.idempotencyKey]
        if let key {
            guard (1...255).contains(key.utf8.count), key.unicodeScalars.allSatisfy({ (0x21...0x7E).contains($0.value) }) else {
                throw ProblemDetails(
                    .badRequest, slug: "invalid-header",
                    detail: "Idempotency-Key must be 1 to 255 visible ASCII characters", field: "Idempotency-Key")
            }
            // A retry answers before its body is even read.
            if let existing = try await orders.find(user: user, idempotencyKey: key) { return replay(existing) }
        }
        let placement = try await decodeJSONBody(Placement.self, from: request, context: context)
        switch try await placeOrder(
            .init(user: user, items: placement.items, paymentMethod: placement.paymentMethod, idempotencyKey: key))
        {
        case .placed(let order):
            metrics.reached(.awaitingPayment)
            logger.info("order placed", metadata: ["order_id": "\(order.id)", "total_cents": "\(order.totalCents)"])
            return jsonResponse(OrderView(order), status: .created, headers: [.location: "/api/orders/\(order.id)"])
        case .replayed(let order):
            return replay(order)
        }
    }

    private func replay(_ order: Order) -> Response {
        jsonResponse(OrderView(order), status: .ok, headers: [.location: "/api/orders/\(order.id)", Self.replayed: "true"])
    }

    func list(_ request: Request, context: MeridianRequestContext) async throws -> Response {
        let principal = try context.requirePrincipal()
        var user: UserID? = UserID(principal.userID)
        if principal.role == .admin { user = request.uri.queryParameters.get("user_id").map { UserID(String($0)) } }
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
        jsonResponse(
            OrderView(
                try await context.ownResource("order", find: { try await orders.find(OrderID($0)) }, owner: \.userID.rawValue)))
    }
}
