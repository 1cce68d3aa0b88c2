import ArgumentParser
import Foundation
import Logging
import MeridianApp
import MeridianAuth
import MeridianContracts
import MeridianCore
import MeridianHTTP
import MeridianStorage
import MeridianUsers

struct Users: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Manage users.", subcommands: [CreateAdmin.self])
}

struct CreateAdmin: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "create-admin",
        abstract: "Create an admin user; the password is read from standard input (one line).",
        discussion: "Example: printf '%s\\n' \"$ADMIN_PASSWORD\" | meridian users create-admin --email admin@example.com")

    @OptionGroup var common: CommonOptions

    @Option(help: "The admin's email.")
    var email: String

    @Option(help: "The admin's display name.")
    var name: String?

    func run() async throws {
        guard let line = readLine(strippingNewline: true), !line.isEmpty else {
            throw ValidationError("write the password to standard input")
        }
        let settings = try await common.settings()
        bootstrapLogging(format: "text", level: common.logLevel ?? "warning")
        let logger = Logger(label: "meridian.users")
        let (email, name) = (self.email, self.name)
        let user: User
        do {
            user = try await withStore(settings: settings, logger: logger) { store in
                _ = try await migrate(store, roles: [.users])
                let register = RegisterUser(
                    users: SQLUserStore(store: store), bcryptCost: settings.users.bcryptCost, logger: logger)
                return try await register(email: email, password: line, name: name, role: .admin)
            }
        } catch let violation as FieldViolation {
            throw CommandFailure(violation.description, status: ExitStatus.usage)
        } catch is DuplicateEmail {
            throw CommandFailure("a user with the email \(email) exists", status: ExitStatus.failure)
        } catch {
            throw CommandFailure(describeStartupFailure(error, settings: settings).description, status: ExitStatus.unavailable)
        }
        print("created admin \(user.email) (\(user.id.rawValue))")
    }
}
