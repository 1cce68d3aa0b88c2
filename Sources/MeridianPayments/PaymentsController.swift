import Foundation
import Hummingbird
import MeridianAuth
import MeridianCore
import MeridianHTTP

/// The payments role's API, under `/api/payments`: owners read their payments, admins any.
public struct PaymentsController: APIRoutes {
    let payments: any PaymentStore

    public init(payments: any PaymentStore) {
        self.payments = payments
    }

    public func addRoutes(to router: some RouterMethods<MeridianRequestContext>) {
        let api = router.group("api/payments")
        api.get { request, context in try await self.list(request, context: context) }
        api.get(":id") { _, context in try await self.read(context) }
    }

    struct PaymentView: Encodable, Sendable {
        var id: String
        var orderID: String
        var userID: String
        var amountCents: Int
        var currency: String
        var paymentMethod: String
        var status: String
        var reason: String?
        var createdAt: String
        var refundedAt: String?

        enum CodingKeys: String, CodingKey {
            case id, currency, status, reason
            case orderID = "order_id"
            case userID = "user_id"
            case amountCents = "amount_cents"
            case paymentMethod = "payment_method"
            case createdAt = "created_at"
            case refundedAt = "refunded_at"
        }

        init(_ payment: Payment) {
            id = payment.id
            orderID = payment.orderID
            userID = payment.userID
            amountCents = payment.amountCents
            currency = payment.currency
            paymentMethod = payment.method
            status = payment.status.rawValue
            reason = payment.reason
            createdAt = Timestamp.format(payment.createdAt)
            refundedAt = payment.refundedAt.map(Timestamp.format)
        }
    }

    func list(_ request: Request, context: MeridianRequestContext) async throws -> Response {
        let principal = try context.requirePrincipal()
        let user: String? = principal.role == .admin ? nil : principal.userID
        let page = try PageRequest(request)
        let order: String? = request.uri.queryParameters.get("order_id").map { String($0) }
        let (items, total) = try await payments.list(user: user, order: order, offset: page.offset, limit: page.perPage)
        return jsonResponse(PageView(items: items.map(PaymentView.init), request: page, total: total))
    }

    func read(_ context: MeridianRequestContext) async throws -> Response {
        jsonResponse(
            PaymentView(try await context.ownResource("payment", find: { try await payments.find($0) }, owner: \.userID)))
    }
}
