/// The users service as the roles that write to users see it (notifications): a user's name and address.
public protocol UserDirectory: Sendable {
    /// The contact of `user`, or nil when there is no such user.
    func contact(of user: UserID) async throws -> UserContact?
}

/// How to address a user.
public struct UserContact: Sendable, Hashable, Codable {
    public var name: String
    public var email: String

    public init(name: String, email: String) {
        self.name = name
        self.email = email
    }
}

/// The users service as every role that checks tokens sees it: whether an account may still act.
public protocol AccountStatus: Sendable {
    /// True when the user exists and is not disabled.
    func isActive(_ user: UserID) async throws -> Bool
}
