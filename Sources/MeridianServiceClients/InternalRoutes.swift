import Foundation
import HTTPTypes
import Hummingbird
import MeridianAuth
import MeridianContracts
import MeridianCore
import MeridianHTTP

/// The `/internal/...` routes a process serves to the roles of other processes in split mode: the ports its
/// roles offer (service tokens only; input validated like the public API's). A port that no other process
/// calls is left out, and so is the whole group when none is given.
public struct InternalRoutes: APIRoutes {
    public var catalog: (any ProductCatalog)?
    public var carts: (any CartContents)?
    public var users: (any UserDirectory & AccountStatus)?

    public init(
        catalog: (any ProductCatalog)? = nil, carts: (any CartContents)? = nil,
        users: (any UserDirectory & AccountStatus)? = nil
    ) {
        self.catalog = catalog
        self.carts = carts
        self.users = users
    }

    /// True when no route would be mounted.
    public var isEmpty: Bool { catalog == nil && carts == nil && users == nil }

    public func addRoutes(to router: some RouterMethods<MeridianRequestContext>) {
        guard !isEmpty else { return }
        let group = router.group("internal")
        if let catalog {
            group.get("products/:id") { _, context -> Response in
                _ = try context.requireService()
                let id = ProductID(context.parameter("id"))
                guard let product = try await catalog.product(id) else {
                    throw ProblemDetails(.notFound, slug: "not-found", detail: "no product \(id.rawValue)")
                }
                return jsonResponse(product)
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
                let outcome = try await catalog.reserve(order: OrderID(order), items: wanted.items, expiresAt: expiresAt)
                return jsonResponse(ReservationAnswer(outcome))
            }
            group.delete("reservations/:order") { _, context -> Response in
                _ = try context.requireService()
                try await catalog.release(order: OrderID(context.parameter("order")))
                return Response(status: .noContent)
            }
        }
        if let carts {
            group.post("checkouts") { request, context -> Response in
                _ = try context.requireService()
                let wanted = try await decodeJSONBody(CheckoutRequest.self, from: request, context: context)
                let user = try TextRules.check(wanted.userID, field: "user_id", maxCharacters: 100)
                let order = try TextRules.check(wanted.orderID, field: "order_id", maxCharacters: 100)
                return jsonResponse(try await carts.checkout(of: UserID(user), for: OrderID(order)))
            }
            group.delete("checkouts/:order") { _, context -> Response in
                _ = try context.requireService()
                try await carts.restore(order: OrderID(context.parameter("order")))
                return Response(status: .noContent)
            }
        }
        if let users {
            group.get("users/:id/contact") { _, context -> Response in
                _ = try context.requireService()
                let id = context.parameter("id")
                guard let contact = try await users.contact(of: UserID(id)) else {
                    throw ProblemDetails(.notFound, slug: "not-found", detail: "no user \(id)")
                }
                return jsonResponse(contact)
            }
            group.get("users/:id/status") { _, context -> Response in
                _ = try context.requireService()
                let active = try await users.isActive(UserID(context.parameter("id")))
                return jsonResponse(HTTPUserDirectory.Status(active: active))
            }
        }
    }
}
