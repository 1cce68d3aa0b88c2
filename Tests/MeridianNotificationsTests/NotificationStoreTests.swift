import Foundation
import MeridianNotifications
import MeridianTestSupport
import Testing

/// Notifications on SQLite and PostgreSQL.
@Suite struct NotificationStoreTests {
    @Test(arguments: backends) func aNotificationIsSavedOncePerEventAndListedPerUser(backend: String) async throws {
        let database = try await TestDatabase.make(backend, migrations: [("notifications", SQLNotificationStore.migrations)])
        let ada = (id: "ada", email: "ada@example.com")
        let notifications = SQLNotificationStore(store: database.store)
        #expect(try await notifications.find(eventID: "e1") == nil)
        var notification = UserNotification(
            id: "n1", eventID: "e1", type: "order.confirmed", userID: ada.id, orderID: "o1", channel: "log",
            recipient: ada.email, subject: "s", body: "b", status: .pending, attempts: 1, lastError: "503", createdAt: Date(),
            sentAt: nil)
        try await notifications.save(notification)
        #expect(try await notifications.find(eventID: "e1")?.lastError == "503")
        // Saved again for the same event: its delivery state changes, nothing else, and it stays one notification.
        notification.id = "n2"
        notification.subject = "changed"
        notification.status = .sent
        notification.attempts = 2
        notification.lastError = nil
        notification.sentAt = Date()
        try await notifications.save(notification)
        let saved = try #require(try await notifications.find(eventID: "e1"))
        #expect(saved.id == "n1")
        #expect(saved.subject == "s")
        #expect(saved.status == .sent)
        #expect(saved.attempts == 2)
        #expect(saved.lastError == nil)
        #expect(saved.sentAt != nil)
        let listed = try await notifications.list(user: ada.id, offset: 0, limit: 10)
        #expect(listed.total == 1)
        #expect(try await notifications.list(user: "someone else", offset: 0, limit: 10).total == 0)
        await database.close()
    }
}
