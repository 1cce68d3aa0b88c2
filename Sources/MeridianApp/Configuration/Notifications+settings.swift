import Foundation
import MeridianNotifications

/// The settings of the notifications role.
public struct NotificationSettings: Sendable {
    public enum Channel: String, Sendable, CaseIterable {
        case log, webhook, smtp
    }

    public var channel: Channel
    public var webhookURL: String
    public var smtpHost: String
    public var smtpPort: Int
    public var smtpFrom: String
    /// A directory of `<type>.subject.mustache` / `<type>.body.mustache` files replacing the built-in templates.
    public var templatesDirectory: String?
    public var notifier: Notifier.Configuration

    init(reader config: SettingsReader) throws {
        channel = Channel(rawValue: try config.choice("channel", default: "log", Channel.allCases.map(\.rawValue)))!
        webhookURL = try config.string("webhookUrl", default: "", isSecret: true)
        if channel == .webhook && !(webhookURL.hasPrefix("http://") || webhookURL.hasPrefix("https://")) {
            throw config.invalid("webhookUrl", "the webhook channel needs an http(s) URL")
        }
        smtpHost = try config.string("smtpHost", default: "127.0.0.1")
        smtpPort = try config.int("smtpPort", default: 25, in: 1...65535)
        smtpFrom = try config.string("smtpFrom", default: "shop@meridian.localhost")
        templatesDirectory = try config.optionalString("templatesDir")
        notifier = Notifier.Configuration()
        notifier.attempts = try config.int("attempts", default: notifier.attempts, in: 1...100)
        notifier.firstBackoff = .milliseconds(try config.int("backoffMs", default: 200, in: 0...600_000))
    }
}
