import Foundation
import HTTPTypes
import MeridianAuth
import MeridianContracts
import MeridianCore
import MeridianHTTP
import MeridianStorage
import SQLKit

/// The users service's store (its port).
public protocol UserStore: Sendable {
    /// Inserts the user; throws ``DuplicateEmail`` when the email is taken.
    func insert(_ user: User) async throws
    func find(id: UserID) async throws -> User?
    func find(email: String) async throws -> User?
    /// Saves the profile a user may change (name, password); the role and the disabled flag are left alone.
    func updateProfile(_ user: User) async throws
    /// Disables the account; returns the user as now stored, or nil when there is none.
    func disable(id: UserID) async throws -> User?
    /// A page of users, oldest first, and the total count.
    func list(offset: Int, limit: Int) async throws -> (users: [User], total: Int)
}

/// The email is taken (a 409 naming `email`).
public struct DuplicateEmail: Error, ProblemConvertible {
    public var problem: ProblemDetails {
        ProblemDetails(.conflict, slug: "duplicate-email", detail: "a user with this email exists", field: "email")
    }
}

/// The users service's tables, on the `SQLStore` port (SQLite or PostgreSQL).
public struct SQLUserStore: UserStore {
    public static let migrations: [Migration] = [
        Migration(
            version: 1, name: "users",
            [
                """
                CREATE TABLE users (
                    id TEXT PRIMARY KEY, email TEXT NOT NULL UNIQUE, name TEXT NOT NULL, role TEXT NOT NULL,
                    disabled BOOLEAN NOT NULL, password_hash TEXT NOT NULL, created_at TEXT NOT NULL)
                """
            ])
    ]

    public let store: any SQLStore

    public init(store: any SQLStore) {
        self.store = store
    }

    public func insert(_ user: User) async throws {
        do {
            try await store.withTransaction { database in
                let taken = try await database.raw("SELECT id FROM users WHERE email = \(bind: user.email)").all()
                guard taken.isEmpty else { throw DuplicateEmail() }
                try await database.raw(
                    """
                    INSERT INTO users (id, email, name, role, disabled, password_hash, created_at)
                    VALUES (\(bind: user.id.rawValue), \(bind: user.email), \(bind: user.name), \(bind: user.role.rawValue),
                            \(bind: user.disabled), \(bind: user.passwordHash), \(bind: Timestamp.format(user.createdAt)))
                    """
                ).run()
            }
        } catch let error as DuplicateEmail {
            throw error
        } catch {
            // Two registrations racing for one email: the UNIQUE constraint decides.
            if try await find(email: user.email) != nil { throw DuplicateEmail() }
            throw error
        }
    }

    public func find(id: UserID) async throws -> User? {
        try await store.withDatabase { database in
            try await database.raw("SELECT * FROM users WHERE id = \(bind: id.rawValue)").first().map(Self.user)
        }
    }

    public func find(email: String) async throws -> User? {
        try await store.withDatabase { database in
            try await database.raw("SELECT * FROM users WHERE email = \(bind: email)").first().map(Self.user)
        }
    }

    /// Saves the profile a user may change (name, password). The role and the disabled flag are left alone,
    /// so a profile update racing an admin's disable never enables the account again.
    public func updateProfile(_ user: User) async throws {
        try await store.withTransaction { database in
            try await database.raw(
                """
                UPDATE users SET name = \(bind: user.name), password_hash = \(bind: user.passwordHash)
                WHERE id = \(bind: user.id.rawValue)
                """
            ).run()
        }
    }

    /// Disables the account; returns the user as now stored, or nil when there is none.
    public func disable(id: UserID) async throws -> User? {
        try await store.withTransaction { database in
            try await database.raw("UPDATE users SET disabled = \(bind: true) WHERE id = \(bind: id.rawValue)").run()
            return try await database.raw("SELECT * FROM users WHERE id = \(bind: id.rawValue)").first().map(Self.user)
        }
    }

    /// A page of users, oldest first, and the total count.
    public func list(offset: Int, limit: Int) async throws -> (users: [User], total: Int) {
        try await store.withDatabase { database in
            let users = try await database.raw(
                "SELECT * FROM users ORDER BY created_at, id LIMIT \(bind: limit) OFFSET \(bind: offset)"
            ).all().map(Self.user)
            let total =
                try await database.raw("SELECT COUNT(*) AS total FROM users").first()?
                .decode(column: "total", as: Int.self) ?? 0
            return (users, total)
        }
    }

    private static func user(_ row: any SQLRow) throws -> User {
        User(
            id: UserID(rawValue: try row.decode(column: "id", as: String.self)),
            email: try row.decode(column: "email", as: String.self),
            name: try row.decode(column: "name", as: String.self),
            role: Principal.Role(rawValue: try row.decode(column: "role", as: String.self)) ?? .customer,
            disabled: try row.decode(column: "disabled", as: Bool.self),
            passwordHash: try row.decode(column: "password_hash", as: String.self),
            createdAt: Timestamp.parse(try row.decode(column: "created_at", as: String.self)) ?? Date(timeIntervalSince1970: 0))
    }
}
