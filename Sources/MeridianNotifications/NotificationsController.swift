import Foundation
import Hummingbird
import MeridianAuth
import MeridianCore
import MeridianHTTP

/// The notifications role's API: `GET /api/notifications`, the signed-in user's own notifications.
public struct NotificationsController: APIRoutes {
    let notifications: any NotificationStore

    public init(notifications: any NotificationStore) {
        self.notifications = notifications
    }

    public func addRoutes(to router: some RouterMethods<MeridianRequestContext>) {
        router.get("api/notifications") { request, context in try await self.list(request, context: context) }
    }

    struct NotificationView: Encodable, Sendable {
        var id: String
        var type: String
        var orderID: String?
        var channel: String
        var subject: String
        var body: String
        var status: String
        var attempts: Int
        var createdAt: String
        var sentAt: String?

        enum CodingKeys: String, CodingKey {
            case id, type, channel, subject, body, status, attempts
            case orderID = "order_id"
            case createdAt = "created_at"
            case sentAt = "sent_at"
        }

        init(_ notification: UserNotification) {
            id = notification.id
            type = notification.type
            orderID = notification.orderID
            channel = notification.channel
            subject = notification.subject
            body = notification.body
            status = notification.status.rawValue
            attempts = notification.attempts
            createdAt = Timestamp.format(notification.createdAt)
            sentAt = notification.sentAt.map(Timestamp.format)
        }
    }

    func list(_ request: Request, context: MeridianRequestContext) async throws -> Response {
        let user = try context.requirePrincipal().userID
        let page = try PageRequest(request)
        let (items, total) = try await notifications.list(user: user, offset: page.offset, limit: page.perPage)
        return jsonResponse(PageView(items: items.map(NotificationView.init), request: page, total: total))
    }
}
