import ArgumentParser
import Configuration
import Logging
import MeridianApp
import MeridianStorage

struct Migrate: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Apply the pending database migrations (`serve` also does this at start) and exit.")

    @OptionGroup var common: CommonOptions

    @Option(help: "The database: sqlite:PATH or postgres://user:password@host:port/database (also MERIDIAN_STORAGE_URL).")
    var storageURL: String?

    func run() async throws {
        var extra: [String: ConfigValue] = [:]
        if let storageURL { extra["storage.url"] = .init(.string(storageURL), isSecret: true) }
        let settings = try await common.settings(extra: extra)
        bootstrapLogging(format: "text", level: common.logLevel ?? "warning")
        let roles = settings.roles
        let applied: [String]
        do {
            applied = try await withStore(settings: settings, logger: Logger(label: "meridian.migrate")) { store in
                try await migrate(store, roles: roles)
            }
        } catch {
            throw CommandFailure(describeStartupFailure(error, settings: settings).description, status: ExitStatus.unavailable)
        }
        print(applied.isEmpty ? "nothing to apply" : applied.map { "applied \($0)" }.joined(separator: "\n"))
    }
}
