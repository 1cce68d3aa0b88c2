import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Logging
import MeridianContracts
import MeridianCore
import MeridianEventLog
import MeridianMessaging
import MeridianNotifications
import MeridianStorage
import MeridianTestSupport
import NIOCore
import NIOPosix
import Synchronization
import Testing

/// Notifications through real channels: an HTTP server for the webhook, aiosmtpd for SMTP.
@Suite struct NotificationTests {
    struct Directory: UserDirectory {
        func contact(of user: UserID) async throws -> UserContact? { UserContact(name: "Ada", email: "ada@example.com") }
    }

    final class Setup: Sendable {
        let database: TestDatabase
        let log: EmbeddedEventLog
        let directory = NSTemporaryDirectory() + "meridian-notify-" + UUID().uuidString
        let store: SQLNotificationStore

        init() async throws {
            database = try await TestDatabase.make("sqlite", migrations: [("notifications", SQLNotificationStore.migrations)])
            log = try await EmbeddedEventLog.openRunning(path: directory + "/log.sqlite")
            store = SQLNotificationStore(store: database.store)
        }

        func notifier(_ channel: any NotificationChannel, attempts: Int = 3) throws -> Notifier {
            var configuration = Notifier.Configuration()
            configuration.attempts = attempts
            configuration.firstBackoff = .milliseconds(5)
            return Notifier(
                notifications: store, channel: channel, templates: try NotificationTemplates(), users: Directory(),
                configuration: configuration, logger: Logger(label: "test"))
        }

        /// Hands the records to `notifier` the way the notifications consumer does (retries, dead letters).
        func deliver(_ records: [ConsumedRecord], to notifier: Notifier) async throws {
            let handling = EventHandling(
                eventLog: log, topics: Topics(), consumer: "notifications", logger: Logger(label: "test"))
            try await handling.dispatch(records, notifier.handle)
        }

        func close() async {
            await log.close()
            await database.close()
            try? FileManager.default.removeItem(atPath: directory)
        }
    }

    static func confirmed(_ order: String) throws -> ConsumedRecord {
        let record = try OrderConfirmed(
            orderID: order, userID: "u1", totalCents: 1999, currency: "EUR", paymentID: "pay1",
            confirmedAt: Timestamp.format(Date())
        ).record(topics: Topics())
        return ConsumedRecord(
            topic: record.topic, partition: 0, offset: 0, key: record.key, value: record.value, headers: record.headers,
            timestamp: Date())
    }

    /// A webhook receiver that refuses the first `failures` calls with 503.
    final class Receiver: Sendable {
        let failures: Int
        let calls = Mutex<[(key: String?, body: String)]>([])

        init(failures: Int) { self.failures = failures }

        var application: some ApplicationProtocol {
            let router = Router()
            router.post("hook") { request, _ -> HTTPResponse.Status in
                let body = String(buffer: try await request.body.collect(upTo: 65_536))
                let count = self.calls.withLock { calls in
                    calls.append((request.headers[HTTPField.Name("Idempotency-Key")!], body))
                    return calls.count
                }
                return count <= self.failures ? .serviceUnavailable : .noContent
            }
            return Application(router: router)
        }
    }

    @Test func aWebhookIsRetriedWithBackoffUntilItIsAcceptedAndSentOnce() async throws {
        let setup = try await Setup()
        let receiver = Receiver(failures: 2)
        try await receiver.application.test(.live) { client in
            let port = try #require(client.port)
            let notifier = try setup.notifier(WebhookChannel(url: "http://127.0.0.1:\(port)/hook"))
            let record = try Self.confirmed("o1")
            try await setup.deliver([record], to: notifier)
            try await setup.deliver([record], to: notifier)
        }
        let calls = receiver.calls.withLock { $0 }
        #expect(calls.count == 3)
        #expect(Set(calls.map(\.key)).count == 1)
        let body = try #require(calls.last?.body)
        let json = try #require(try JSONSerialization.jsonObject(with: Data(body.utf8)) as? [String: Any])
        #expect(json["subject"] as? String == "Your order o1 is confirmed")
        #expect((json["body"] as? String)?.contains("19.99 EUR") == true)
        #expect(json["email"] as? String == "ada@example.com")
        let listed = try await setup.store.list(user: "u1", offset: 0, limit: 10).notifications
        #expect(listed.map(\.status) == [.sent])
        #expect(listed.first?.attempts == 3)
        await setup.close()
    }

    @Test func aMessageThatCannotBeDeliveredIsMarkedFailedAndDeadLettered() async throws {
        let setup = try await Setup()
        let receiver = Receiver(failures: .max)
        try await receiver.application.test(.live) { client in
            let port = try #require(client.port)
            let notifier = try setup.notifier(WebhookChannel(url: "http://127.0.0.1:\(port)/hook"))
            try await setup.deliver([try Self.confirmed("o2")], to: notifier)
        }
        #expect(receiver.calls.withLock { $0.count } == 3)
        let listed = try await setup.store.list(user: "u1", offset: 0, limit: 10).notifications
        #expect(listed.first?.status == .failed)
        #expect(listed.first?.lastError?.contains("503") == true)
        let consumer = try await setup.log.makeConsumer(ConsumerOptions(group: nil, topics: ["events-dlq"], fromBeginning: true))
        let dead = try await consumer.poll(maxRecords: 10, timeout: .seconds(5))
        #expect(dead.count == 1)
        #expect(dead.first?.header("dlq-error-class") == "processing")
        #expect(dead.first?.header("dlq-attempts") == "3")
        #expect(dead.first?.header("ce_type") == "order.confirmed")
        await consumer.close()
        await setup.close()
    }

    static var aiosmtpdAvailable: Bool {
        let probe = Process()
        probe.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        probe.arguments = ["python3", "-c", "import aiosmtpd"]
        probe.standardError = FileHandle.nullDevice
        guard (try? probe.run()) != nil else { return false }
        probe.waitUntilExit()
        return probe.terminationStatus == 0
    }

    @Test(.enabled(if: aiosmtpdAvailable, "needs PyPI aiosmtpd (scripts/install-deps.sh installs it)"))
    func anEmailReachesARealSMTPServer() async throws {
        let setup = try await Setup()
        let maildir = setup.directory + "/maildir"
        let port = try freePort()
        // Started with default signal handling and stopped by its pid, so it never outlives the test run.
        let server = try ChildProcess(
            "python3", ["-m", "aiosmtpd", "-n", "-l", "127.0.0.1:\(port)", "-c", "aiosmtpd.handlers.Mailbox", maildir])
        defer {
            server.signal(SIGKILL)
            _ = server.waitUntilExit()
        }
        let channel = SMTPChannel(client: SMTPClient(host: "127.0.0.1", port: port), from: "shop@meridian.test")
        try await Self.waitForListener(port: port)
        let notifier = try setup.notifier(channel)
        try await setup.deliver([try Self.confirmed("o3")], to: notifier)

        let files = try FileManager.default.contentsOfDirectory(atPath: maildir + "/new")
        #expect(files.count == 1)
        let mail = try String(contentsOfFile: maildir + "/new/" + (files.first ?? ""), encoding: .utf8)
        #expect(mail.contains("Subject: Your order o3 is confirmed"))
        #expect(mail.contains("To: <ada@example.com>"))
        #expect(mail.contains("19.99 EUR"))
        let listed = try await setup.store.list(user: "u1", offset: 0, limit: 10).notifications
        #expect(listed.first?.status == .sent)
        #expect(listed.first?.channel == "smtp")
        await setup.close()
    }

    /// Waits until something accepts connections on `port` (aiosmtpd takes a moment to start).
    static func waitForListener(port: Int) async throws {
        let deadline = ContinuousClock.now.advanced(by: .seconds(20))
        while true {
            do {
                let channel = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
                    .connect(host: "127.0.0.1", port: port).get()
                try await channel.close()
                return
            } catch {
                guard ContinuousClock.now < deadline else { throw error }
                try await Task.sleep(for: .milliseconds(100))
            }
        }
    }

    @Test func moneyIsFormattedByCurrencyAndHeadersCannotBeInjected() {
        #expect(NotificationTemplates.money(1999, "EUR") == "19.99 EUR")
        #expect(NotificationTemplates.money(5, "USD") == "0.05 USD")
        #expect(NotificationTemplates.money(1500, "JPY") == "1500 JPY")
        #expect(NotificationTemplates.money(12345, "KWD") == "12.345 KWD")
        #expect(NotificationTemplates.money(-5, "USD") == "-0.05 USD")
        // abs(Int.min) traps: an event's total must not be able to kill the process.
        #expect(NotificationTemplates.money(Int.min, "USD") == "-92233720368547758.08 USD")
        let templates = try? NotificationTemplates()
        let rendered = templates?.render(type: "order.failed", values: ["order_id": "o\r\nBcc: x@evil", "reason": "declined"])
        #expect(rendered?.subject.contains("\n") == false)
        #expect(templates?.render(type: "order.created", values: [:]) == nil)
    }
}
