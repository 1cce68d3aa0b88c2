import Foundation
import HummingbirdBcrypt
import Logging
import MeridianAuth
import MeridianContracts
import MeridianCore
import NIOPosix

/// Registering a user: the rules for the email, the name and the password, the bcrypt hash, and the
/// insert that refuses a taken email. The registration route and `meridian users create-admin` both call it.
public struct RegisterUser: Sendable {
    let users: any UserStore
    let bcryptCost: UInt8
    let logger: Logger

    public init(users: any UserStore, bcryptCost: UInt8, logger: Logger) {
        self.users = users
        self.bcryptCost = bcryptCost
        self.logger = logger
    }

    /// Creates the user; throws ``FieldViolation`` naming the field a rule refused, or
    /// ``UserStore/DuplicateEmail``.
    public func callAsFunction(email: String, password: String, name: String?, role: Principal.Role) async throws -> User {
        let email = try UserRules.email(email)
        let name = try UserRules.name(name)
        try UserRules.password(password)
        let cost = bcryptCost
        // bcrypt is slow on purpose: it runs on the blocking thread pool, never on an event loop.
        let hash = try await NIOThreadPool.singleton.runIfActive { Bcrypt.hash(password, cost: cost) }
        let user = User(
            id: UserID(RandomID.uuidString()), email: email, name: name, role: role, disabled: false, passwordHash: hash,
            createdAt: Date())
        try await users.insert(user)
        logger.info("user registered", metadata: ["user_id": "\(user.id.rawValue)", "role": "\(role.rawValue)"])
        return user
    }
}
