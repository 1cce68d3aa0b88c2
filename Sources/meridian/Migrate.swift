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
        let store = try await buildStore(settings: settings, logger: Logger(label: "meridian.migrate"))
        let applied: [String]
        if let postgres = store as? PostgresStore {
            applied = try await withThrowingTaskGroup(of: [String]?.self) { group in
                group.addTask {
                    try await postgres.run()
                    return nil
                }
                group.addTask { try await migrate(postgres, roles: settings.roles) }
                defer { group.cancelAll() }
                while let result = try await group.next() {
                    if let result { return result }
                }
                return []
            }
        } else {
            applied = try await migrate(store, roles: settings.roles)
            try? await (store as? SQLiteStore)?.close()
        }
        print(applied.isEmpty ? "nothing to apply" : applied.map { "applied \($0)" }.joined(separator: "\n"))
    }
}
