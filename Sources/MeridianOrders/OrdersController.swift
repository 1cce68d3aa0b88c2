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
        /// The longest `Prefer: wait` honoured: a request asking for more waits this long. Default 30 s.
        public var maxWait: Duration = .seconds(30)
        /// How often a waiting request looks at its order again when no signal came (the payment outcome may
        /// be applied by another orders process). Default 250 ms.
        public var recheckInterval: Duration = .milliseconds(250)

        public init() {}
    }

    let orders: any OrderStore
    let placeOrder: PlaceOrder
    let updates: KeyedSignal<OrderID, Order>
    let configuration: Configuration
    let metrics: OrderMetrics
    let logger: Logger

    /// - Parameter updates: the signal the saga gives for each order it moves on (``OrderSaga``).
    public init(
        orders: any OrderStore, catalog: any ProductCatalog, carts: any CartContents,
        updates: KeyedSignal<OrderID, Order> = .init(),
        configuration: Configuration = .init(), metrics: OrderMetrics, logger: Logger
    ) {
        self.orders = orders
        self.updates = updates
        self.configuration = configuration
        self.placeOrder = PlaceOrder(
            orders: orders, catalog: catalog, carts: carts, reservationTTL: configuration.reservationTTL)
        self.metrics = metrics
        self.logger = logger
    }

    public func addRoutes(to router: some RouterMethods<MeridianRequestContext>) {
        let api = router.group("api/orders")
        api.post { request, context in try await self.place(request, context: context) }
        api.get { request, context in try await self.list(request, context: context) }
        api.get(":id") { request, context in try await self.read(request, context: context) }
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
        }
        let placement = try await decodeJSONBody(Placement.self, from: request, context: context)
        // Asked to wait: the new order's id is chosen and watched before the order exists, so no change is
        // missed and the order need not be read again before the wait.
        let id = Preferences(request.headers).wait.map { _ in placeOrder.newID() }
        let watch = id.map { updates.watch($0) }
        let outcome: PlaceOrder.Outcome
        do {
            outcome = try await placeOrder(
                .init(user: user, items: placement.items, paymentMethod: placement.paymentMethod, idempotencyKey: key, id: id))
        } catch {
            if let watch { updates.end(watch) }
            throw error
        }
        switch outcome {
        case .placed(let order):
            metrics.reached(.awaitingPayment)
            logger.info("order placed", metadata: ["order_id": "\(order.id)", "total_cents": "\(order.totalCents)"])
            return try await respond(order, status: .created, replayed: false, request: request, watching: watch)
        case .replayed(let order):
            if let watch { updates.end(watch) }
            return try await respond(order, status: .ok, replayed: true, request: request)
        }
    }

    /// The order as it is once its payment settled, or once the `Prefer: wait` the client sent ran out.
    private func respond(
        _ order: Order, status: HTTPResponse.Status, replayed: Bool, request: Request,
        watching: KeyedSignal<OrderID, Order>.Watch? = nil
    ) async throws -> Response {
        var headers: HTTPFields = [.location: "/api/orders/\(order.id)"]
        if replayed { headers[Self.replayed] = "true" }
        let (settled, waited) = try await settle(order, request: request, watching: watching)
        if let waited { headers[Preferences.preferenceApplied] = "wait=\(waited)" }
        return jsonResponse(OrderView(settled), status: status, headers: headers)
    }

    /// With `Prefer: wait=N`, waits up to N seconds (at most ``Configuration/maxWait``) while `order` awaits
    /// payment, woken by the saga's signal and looking again every ``Configuration/recheckInterval``;
    /// returns the order as it is then and the wait honoured (nil when none was asked).
    ///
    /// - Parameter watching: a watch of the order begun before `order` was read, if any (one read fewer).
    func settle(_ order: Order, request: Request, watching: KeyedSignal<OrderID, Order>.Watch? = nil) async throws -> (
        Order, Int?
    ) {
        guard let asked = Preferences(request.headers).wait else {
            if let watching { updates.end(watching) }
            return (order, nil)
        }
        let seconds = min(asked, Int(configuration.maxWait.timeInterval))
        let deadline = ContinuousClock.now.advanced(by: .seconds(seconds))
        var order = order
        // Always watch before reading, so a change between the read and the wait is not missed.
        var watch = watching ?? updates.watch(order.id)
        defer { updates.end(watch) }
        if watching == nil, order.status == .awaitingPayment, seconds > 0 {
            order = try await orders.find(order.id) ?? order
        }
        while order.status == .awaitingPayment, !Task.isCancelled {
            let left = ContinuousClock.now.duration(to: deadline)
            guard left > .zero else { break }
            // Woken with the order the saga changed in this process; otherwise (the recheck interval passed,
            // another process may have changed it) read it again.
            if let changed = await updates.wait(watch, timeout: min(left, configuration.recheckInterval)) {
                order = changed
                continue
            }
            watch = updates.watch(order.id)
            guard let now = try await orders.find(order.id) else { break }
            order = now
        }
        return (order, seconds)
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

    func read(_ request: Request, context: MeridianRequestContext) async throws -> Response {
        // Asked to wait: watch the order before reading it, so the read below is also the wait's first look.
        let watch = Preferences(request.headers).wait.map { _ in updates.watch(OrderID(context.parameter("id"))) }
        let order: Order
        do {
            order = try await context.ownResource(
                "order", find: { try await orders.find(OrderID($0)) }, owner: \.userID.rawValue)
        } catch {
            if let watch { updates.end(watch) }
            throw error
        }
        let (settled, waited) = try await settle(order, request: request, watching: watch)
        return jsonResponse(
            OrderView(settled), headers: waited.map { [Preferences.preferenceApplied: "wait=\($0)"] } ?? [:])
    }
}
