import MeridianContracts

/// The users role's own answers to the ports it offers (``UserDirectory``, ``AccountStatus``), for the
/// roles of this process.
public struct StoreUserDirectory: UserDirectory, AccountStatus {
    let users: any UserStore

    public init(users: any UserStore) {
        self.users = users
    }

    public func contact(of user: UserID) async throws -> UserContact? {
        try await users.find(id: user).map { UserContact(name: $0.name, email: $0.email) }
    }

    public func isActive(_ user: UserID) async throws -> Bool {
        guard let found = try await users.find(id: user) else { return false }
        return !found.disabled
    }
}
