import AsyncHTTPClient
import Foundation
import HTTPTypes
import Hummingbird
import Logging
import MeridianAuth
import MeridianCarts
import MeridianCore
import MeridianHTTP
import MeridianNotifications
import MeridianOrders
import MeridianProducts
import MeridianUsers
import NIOCore
import NIOHTTP1

// Split mode: a role that another role of the same process would answer in process is reached over HTTP
// instead, at the address `services.<role>Url` names. The owning role serves these `/internal/...` routes;
// callers sign each request with a service token (the shared `auth.jwtSecret`, role `service`, which no
// person's token has: an admin's token is refused there too).

/// A call between services failed (the other service is down, or answered what it must not).
public struct ServiceCallFailed: Error, CustomStringConvertible {
    public var service: String
    public var reason: String
    public var description: String { "\(service) service: \(reason)" }
}

/// JSON calls to one other service.
struct ServiceClient: Sendable {
    let name: String
    let baseURL: String
    let tokens: TokenService

    func call(_ method: HTTPMethod, _ path: String, body: (some Encodable)? = Optional<Int>.none) async throws -> (
        status: Int, body: ByteBuffer
    ) {
        var request = HTTPClientRequest(url: baseURL + path)
        request.method = method
        let token = try await tokens.issue(for: .service(name))
        request.headers.add(name: "Authorization", value: "Bearer \(token)")
        if let body {
            request.headers.add(name: "Content-Type", value: "application/json")
            request.body = .bytes(ByteBuffer(bytes: try JSONEncoder().encode(body)))
        }
        do {
            let response = try await HTTPClient.shared.execute(request, timeout: .seconds(10))
            return (Int(response.status.code), try await response.body.collect(upTo: 4 * 1_048_576))
        } catch {
            throw ServiceCallFailed(service: name, reason: "\(error)")
        }
    }

    func decode<T: Decodable>(_ type: T.Type, _ body: ByteBuffer) throws -> T {
        do {
            return try JSONDecoder().decode(T.self, from: Data(body.readableBytesView))
        } catch {
            throw ServiceCallFailed(service: name, reason: "unreadable answer: \(error)")
        }
    }

    func unexpected(_ status: Int, _ body: ByteBuffer) -> ServiceCallFailed {
        ServiceCallFailed(service: name, reason: "answered \(status): \(String(buffer: body).prefix(300))")
    }
}

/// The reservation outcome on the wire.
struct ReservationAnswer: Codable {
    struct Item: Codable {
        var product: ProductSummary
        var quantity: Int
    }

    var outcome: String
    var items: [Item]?
    var productID: String?
    var requested: Int?
    var available: Int?

    enum CodingKeys: String, CodingKey {
        case outcome, items, requested, available
        case productID = "product_id"
    }

    init(_ outcome: ReservationOutcome) {
        switch outcome {
        case .reserved(let items):
            self.outcome = "reserved"
            self.items = items.map { Item(product: $0.product, quantity: $0.quantity) }
        case .shortOfStock(let product, let requested, let available):
            self.outcome = "short_of_stock"
            productID = product.rawValue
            self.requested = requested
            self.available = available
        case .unknownProduct(let product):
            self.outcome = "unknown_product"
            productID = product.rawValue
        }
    }

    var reservationOutcome: ReservationOutcome? {
        switch outcome {
        case "reserved":
            return .reserved((items ?? []).map { ReservedItem(product: $0.product, quantity: $0.quantity) })
        case "short_of_stock":
            return .shortOfStock(
                ProductID(rawValue: productID ?? ""), requested: requested ?? 0, available: available ?? 0)
        case "unknown_product":
            return .unknownProduct(ProductID(rawValue: productID ?? ""))
        default:
            return nil
        }
    }
}

struct ReservationRequest: Codable {
    var order: String
    var items: [StockRequest]
    var expiresAt: String

    enum CodingKeys: String, CodingKey {
        case order, items
        case expiresAt = "expires_at"
    }
}

/// The products service over HTTP.
struct HTTPProductCatalog: ProductCatalog {
    let client: ServiceClient

    func product(_ id: ProductID) async throws -> ProductSummary? {
        let (status, body) = try await client.call(.GET, "/internal/products/\(Self.escape(id.rawValue))")
        if status == 404 { return nil }
        guard status == 200 else { throw client.unexpected(status, body) }
        return try client.decode(ProductSummary.self, body)
    }

    func reserve(order: String, items: [StockRequest], expiresAt: Date) async throws -> ReservationOutcome {
        let (status, body) = try await client.call(
            .POST, "/internal/reservations",
            body: ReservationRequest(order: order, items: items, expiresAt: Timestamp.format(expiresAt)))
        guard status == 200, let outcome = try client.decode(ReservationAnswer.self, body).reservationOutcome else {
            throw client.unexpected(status, body)
        }
        return outcome
    }

    func release(order: String) async throws {
        let (status, body) = try await client.call(.DELETE, "/internal/reservations/\(Self.escape(order))")
        guard status == 204 else { throw client.unexpected(status, body) }
    }

    static func escape(_ segment: String) -> String {
        segment.addingPercentEncoding(withAllowedCharacters: .urlPathAllowed.subtracting(["/"])) ?? segment
    }
}

/// The carts service over HTTP.
struct HTTPCartContents: CartContents {
    let client: ServiceClient

    func lines(of user: String) async throws -> [StockRequest] {
        let (status, body) = try await client.call(.GET, "/internal/carts/\(HTTPProductCatalog.escape(user))/lines")
        guard status == 200 else { throw client.unexpected(status, body) }
        return try client.decode([StockRequest].self, body)
    }
}

/// Whether an account may act, asked of the users service over HTTP.
struct HTTPAccountStatus: AccountStatus {
    let client: ServiceClient

    struct Status: Codable {
        var active: Bool
    }

    func isActive(_ userID: String) async throws -> Bool {
        let (status, body) = try await client.call(.GET, "/internal/users/\(HTTPProductCatalog.escape(userID))/status")
        if status == 404 { return false }
        guard status == 200 else { throw client.unexpected(status, body) }
        return try client.decode(Status.self, body).active
    }
}

/// The users service over HTTP.
struct HTTPUserDirectory: UserDirectory {
    let client: ServiceClient

    struct Contact: Codable {
        var name: String
        var email: String
    }

    func contact(of user: String) async throws -> UserContact? {
        let (status, body) = try await client.call(.GET, "/internal/users/\(HTTPProductCatalog.escape(user))/contact")
        if status == 404 { return nil }
        guard status == 200 else { throw client.unexpected(status, body) }
        let contact = try client.decode(Contact.self, body)
        return UserContact(name: contact.name, email: contact.email)
    }
}

/// The `/internal/...` routes a role serves to the other roles in split mode (service tokens only).
struct InternalRoutes: APIRoutes {
    var products: ProductStore?
    var carts: CartStore?
    var users: UserStore?

    func addRoutes(to router: some RouterMethods<MeridianRequestContext>) {
        let group = router.group("internal")
        if let products {
            group.get("products/:id") { _, context -> Response in
                _ = try context.requireService()
                let id = ProductID(rawValue: context.parameters.get("id") ?? "")
                guard let product = try await products.find(id) else {
                    throw ProblemDetails(.notFound, slug: "not-found", detail: "no product \(id.rawValue)")
                }
                return jsonResponse(
                    ProductSummary(
                        id: product.id, name: product.name, priceCents: product.priceCents, currency: product.currency,
                        available: product.available))
            }
            group.post("reservations") { request, context -> Response in
                _ = try context.requireService()
                let wanted = try await decodeJSONBody(ReservationRequest.self, from: request, context: context)
                // The same rules as a customer's order: another service's request is input too.
                let order = try TextRules.check(wanted.order, field: "order", maxCharacters: 100)
                try StockRequest.validate(wanted.items)
                guard let expiresAt = Timestamp.parse(wanted.expiresAt) else {
                    throw FieldViolation(field: "expires_at", "must be an RFC 3339 time")
                }
                let outcome = try await products.reserve(order: order, items: wanted.items, expiresAt: expiresAt)
                return jsonResponse(ReservationAnswer(outcome))
            }
            group.delete("reservations/:order") { _, context -> Response in
                _ = try context.requireService()
                try await products.release(order: context.parameters.get("order") ?? "")
                return Response(status: .noContent)
            }
        }
        if let carts {
            group.get("carts/:user/lines") { _, context -> Response in
                _ = try context.requireService()
                let lines = try await carts.lines(of: context.parameters.get("user") ?? "")
                return jsonResponse(lines.map { StockRequest(productID: $0.product, quantity: $0.quantity) })
            }
        }
        if let users {
            group.get("users/:id/contact") { _, context -> Response in
                _ = try context.requireService()
                let id = context.parameters.get("id") ?? ""
                guard let user = try await users.find(id: UserID(rawValue: id)) else {
                    throw ProblemDetails(.notFound, slug: "not-found", detail: "no user \(id)")
                }
                return jsonResponse(HTTPUserDirectory.Contact(name: user.name, email: user.email))
            }
            group.get("users/:id/status") { _, context -> Response in
                _ = try context.requireService()
                let id = context.parameters.get("id") ?? ""
                let user = try await users.find(id: UserID(rawValue: id))
                return jsonResponse(HTTPAccountStatus.Status(active: user.map { !$0.disabled } ?? false))
            }
        }
    }
}

/// A path prefix of the public API and the service that answers it.
public struct GatewayRoute: Sendable, Hashable {
    public var prefix: String
    public var service: String
    public var baseURL: String
}

/// The public API's prefixes of each role.
let apiPrefixes: [(MeridianSettings.Role, [String])] = [
    (.users, ["/api/users", "/api/auth"]), (.products, ["/api/products"]), (.carts, ["/api/cart"]),
    (.orders, ["/api/orders"]), (.payments, ["/api/payments"]), (.notifications, ["/api/notifications"]),
    (.ingestor, ["/events"]),
]

/// What the gateway forwards: the prefixes of the roles this process does not run and has a URL for.
func gatewayRoutes(_ settings: MeridianSettings) -> [GatewayRoute] {
    apiPrefixes.flatMap { role, prefixes -> [GatewayRoute] in
        guard !settings.roles.contains(role), let url = settings.serviceURLs[role] else { return [] }
        return prefixes.map { GatewayRoute(prefix: $0, service: role.rawValue, baseURL: url) }
    }
}

/// The gateway in split mode: answers `/api/...` (and `/events`) requests for roles this process does not
/// run by forwarding them to the service that does, after the gateway's own checks (token, rate limits).
/// The service checks the token again. Written by hand: a reverse proxy of a few prefixes is all it needs.
struct ServiceProxyMiddleware: RouterMiddleware {
    typealias Context = MeridianRequestContext

    let routes: [GatewayRoute]
    let maxBody: Int

    static let hopByHop: Set<String> = [
        "connection", "keep-alive", "proxy-authenticate", "proxy-authorization", "te", "trailer", "transfer-encoding",
        "upgrade", "host", "content-length",
    ]

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws
        -> Response
    {
        let path = request.uri.path
        guard let route = routes.first(where: { path == $0.prefix || path.hasPrefix($0.prefix + "/") }) else {
            return try await next(request, context)
        }
        var forwarded = HTTPClientRequest(url: route.baseURL + request.uri.description)
        forwarded.method = HTTPMethod(rawValue: request.method.rawValue)
        for field in request.headers where !Self.hopByHop.contains(field.name.canonicalName) {
            forwarded.headers.add(name: field.name.rawName, value: field.value)
        }
        forwarded.headers.replaceOrAdd(name: "X-Request-ID", value: context.requestID)
        forwarded.headers.add(name: "X-Forwarded-For", value: context.peerAddress)
        let body: ByteBuffer
        do {
            body = try await request.body.collect(upTo: maxBody)
        } catch {
            throw ProblemDetails(.contentTooLarge, slug: "too-large", detail: "the body exceeds \(maxBody) bytes")
        }
        if body.readableBytes > 0 { forwarded.body = .bytes(body) }
        let response: HTTPClientResponse
        let answer: ByteBuffer
        do {
            response = try await HTTPClient.shared.execute(forwarded, timeout: .seconds(30))
            answer = try await response.body.collect(upTo: 16 * 1_048_576)
        } catch {
            throw ProblemDetails(
                .serviceUnavailable, slug: "service-unavailable", detail: "the \(route.service) service did not answer",
                retryAfter: 1)
        }
        var headers = HTTPFields()
        for header in response.headers where !Self.hopByHop.contains(header.name.lowercased()) {
            if let name = HTTPField.Name(header.name) { headers.append(HTTPField(name: name, value: header.value)) }
        }
        return Response(status: .init(code: Int(response.status.code)), headers: headers, body: .init(byteBuffer: answer))
    }
}
