import Foundation
import Logging
import MeridianAuth
import MeridianContracts
import MeridianTestSupport
import MeridianUsers
import Testing

/// Users on SQLite and PostgreSQL.
@Suite struct UserStoreTests {
    @Test(arguments: backends) func usersAreUniqueByEmail(backend: String) async throws {
        let database = try await TestDatabase.make(backend, migrations: [("users", SQLUserStore.migrations)])
        let register = RegisterUser(users: SQLUserStore(store: database.store), bcryptCost: 4, logger: Logger(label: "test"))
        let ada = try await register(email: "ada@example.com", password: "plum-orchard-42", name: "Ada", role: .customer)
        await #expect(throws: DuplicateEmail.self) {
            _ = try await register(email: "ADA@example.com ", password: "plum-orchard-43", name: "Ada 2", role: .customer)
        }
        #expect(try await SQLUserStore(store: database.store).find(email: "ada@example.com")?.id == ada.id)
        // A disable is not undone by a profile update that read the user before it.
        let before = try #require(try await SQLUserStore(store: database.store).find(id: ada.id))
        _ = try await SQLUserStore(store: database.store).disable(id: ada.id)
        var renamed = before
        renamed.name = "Ada L."
        try await SQLUserStore(store: database.store).updateProfile(renamed)
        #expect(try await SQLUserStore(store: database.store).find(id: ada.id)?.disabled == true)
        await database.close()
    }
}
