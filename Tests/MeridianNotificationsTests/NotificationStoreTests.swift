import Foundation
import MeridianNotifications
import MeridianTestSupport
import Testing

/// Notifications on SQLite and PostgreSQL.
@Suite struct NotificationStoreTests {
    @Test(arguments: backends) func aNotificationIsRecordedOncePerEventAndListedPerUser(backend: String) async throws {
        let database = try await TestDatabase.make(backend, migrations: [("notifications", SQLNotificationStore.migrations)])
        let ada = (id: "ada", email: "ada@example.com")
        let notifications = SQLNotificationStore(store: database.store)
        let first = try await notifications.record(
            UserNotification(
                id: "n1", eventID: "e1", type: "order.confirmed", userID: ada.id, orderID: "o1", channel: "log",
                recipient: ada.email, subject: "s", body: "b", status: .pending, attempts: 0, lastError: nil, createdAt: Date(),
                sentAt: nil))
        // The same event again is the same notification.
        var again = first
        again.id = "n2"
        #expect(try await notifications.record(again).id == "n1")
        try await notifications.finish("n1", status: .sent, attempts: 1, error: nil)
        let listed = try await notifications.list(user: ada.id, offset: 0, limit: 10)
        #expect(listed.total == 1)
        #expect(listed.notifications.first?.status == .sent)
        #expect(listed.notifications.first?.sentAt != nil)
        #expect(try await notifications.list(user: "someone else", offset: 0, limit: 10).total == 0)
        await database.close()
    }
}
