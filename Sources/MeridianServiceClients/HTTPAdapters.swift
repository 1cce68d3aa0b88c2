import AsyncHTTPClient
import Foundation
import MeridianContracts
import MeridianCore
import NIOCore
import NIOHTTP1

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
            return .shortOfStock(ProductID(productID ?? ""), requested: requested ?? 0, available: available ?? 0)
        case "unknown_product":
            return .unknownProduct(ProductID(productID ?? ""))
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

/// The products service over HTTP: its ``ProductCatalog`` port for the roles of another process.
public struct HTTPProductCatalog: ProductCatalog {
    let client: ServiceClient

    public init(client: ServiceClient) {
        self.client = client
    }

    public func product(_ id: ProductID) async throws -> ProductSummary? {
        let (status, body) = try await client.call(.GET, "/internal/products/\(escape(id.rawValue))", idempotent: true)
        if status == 404 { return nil }
        guard status == 200 else { throw client.unexpected(status, body) }
        return try client.decode(ProductSummary.self, body)
    }

    public func reserve(order: OrderID, items: [StockRequest], expiresAt: Date) async throws -> ReservationOutcome {
        // Reserving again for the same order returns what it holds, so this call may be retried too.
        let (status, body) = try await client.call(
            .POST, "/internal/reservations",
            body: ReservationRequest(order: order.rawValue, items: items, expiresAt: Timestamp.format(expiresAt)),
            idempotent: true)
        guard status == 200, let outcome = try client.decode(ReservationAnswer.self, body).reservationOutcome else {
            throw client.unexpected(status, body)
        }
        return outcome
    }

    public func release(order: OrderID) async throws {
        let (status, body) = try await client.call(.DELETE, "/internal/reservations/\(escape(order.rawValue))", idempotent: true)
        guard status == 204 else { throw client.unexpected(status, body) }
    }
}

/// A checkout on the wire: the user whose cart an order takes.
struct CheckoutRequest: Codable {
    var userID: String
    var orderID: String

    enum CodingKeys: String, CodingKey {
        case userID = "user_id"
        case orderID = "order_id"
    }
}

/// The carts service over HTTP: its ``CartContents`` port. Both calls are idempotent per order, so retried.
public struct HTTPCartContents: CartContents {
    let client: ServiceClient

    public init(client: ServiceClient) {
        self.client = client
    }

    public func checkout(of user: UserID, for order: OrderID) async throws -> [StockRequest] {
        let (status, body) = try await client.call(
            .POST, "/internal/checkouts", body: CheckoutRequest(userID: user.rawValue, orderID: order.rawValue),
            idempotent: true)
        guard status == 200 else { throw client.unexpected(status, body) }
        return try client.decode([StockRequest].self, body)
    }

    public func restore(order: OrderID) async throws {
        let (status, body) = try await client.call(.DELETE, "/internal/checkouts/\(escape(order.rawValue))", idempotent: true)
        guard status == 204 else { throw client.unexpected(status, body) }
    }
}

/// The users service over HTTP: its ``UserDirectory`` and ``AccountStatus`` ports.
public struct HTTPUserDirectory: UserDirectory, AccountStatus {
    let client: ServiceClient

    public init(client: ServiceClient) {
        self.client = client
    }

    struct Status: Codable {
        var active: Bool
    }

    public func contact(of user: UserID) async throws -> UserContact? {
        let (status, body) = try await client.call(.GET, "/internal/users/\(escape(user.rawValue))/contact", idempotent: true)
        if status == 404 { return nil }
        guard status == 200 else { throw client.unexpected(status, body) }
        return try client.decode(UserContact.self, body)
    }

    public func isActive(_ user: UserID) async throws -> Bool {
        let (status, body) = try await client.call(.GET, "/internal/users/\(escape(user.rawValue))/status", idempotent: true)
        if status == 404 { return false }
        guard status == 200 else { throw client.unexpected(status, body) }
        return try client.decode(Status.self, body).active
    }
}

/// A path segment with everything but unreserved characters percent-encoded.
func escape(_ segment: String) -> String {
    segment.addingPercentEncoding(withAllowedCharacters: .urlPathAllowed.subtracting(["/"])) ?? segment
}
