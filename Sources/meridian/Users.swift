import ArgumentParser
import Foundation
import Logging
import MeridianApp
import MeridianAuth
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
        let store = try await buildStore(settings: settings, logger: logger)
        let pool = Task { try await (store as? PostgresStore)?.run() }
        let result: Result<User, any Error>
        do {
            _ = try await migrate(store, roles: [.users])
            let controller = UsersController(
                users: UserStore(store: store), tokens: try await buildTokens(settings: settings, logger: logger),
                configuration: settings.users, logger: logger)
            result = .success(try await controller.create(email: email, password: line, name: name, role: .admin))
        } catch {
            result = .failure(error)
        }
        pool.cancel()
        try? await (store as? SQLiteStore)?.close()
        switch result {
        case .success(let user):
            print("created admin \(user.email) (\(user.id.rawValue))")
        case .failure(let problem as ProblemDetails):
            throw ValidationError(problem.detail)
        case .failure(let error):
            throw error
        }
    }
}
