import Foundation
import MeridianAuth
import MeridianContracts
import MeridianCore

/// A registered user, as stored (the password only as its bcrypt hash).
public struct User: Sendable, Hashable {
    public var id: UserID
    public var email: String
    public var name: String
    public var role: Principal.Role
    public var disabled: Bool
    public var passwordHash: String
    public var createdAt: Date
}

/// The rules for what users submit: each violation names its field.
public enum UserRules {
    /// A field that breaks a rule.
    public typealias Violation = FieldViolation

    /// The email, trimmed and lower-cased, or a violation: one `@`, a dot in the domain, no spaces or control
    /// characters, at most 254 characters.
    public static func email(_ raw: String) throws(Violation) -> String {
        guard raw.utf8.count <= 1024 else { throw Violation(field: "email", "is not an email address (too long)") }
        try TextRules.checkCharacters(raw, field: "email")
        let email = raw.trimmingCharacters(in: .whitespaces).lowercased()
        let parts = email.split(separator: "@", omittingEmptySubsequences: false)
        guard email.count <= 254, parts.count == 2, !parts[0].isEmpty, parts[1].contains("."),
            !parts[1].hasPrefix("."), !parts[1].hasSuffix("."), !email.contains(where: \.isWhitespace)
        else { throw Violation(field: "email", "'\(raw)' is not an email address") }
        return email
    }

    /// Accepts a password of 8 characters to 72 bytes (bcrypt reads no further, and stops at a NUL) without
    /// control characters, that is not one of the most common passwords.
    public static func password(_ password: String) throws(Violation) {
        guard password.utf8.count <= 72 else {
            throw Violation(field: "password", "must have at most 72 bytes (bcrypt's limit)")
        }
        guard password.count >= 8 else { throw Violation(field: "password", "must have at least 8 characters") }
        try TextRules.checkCharacters(password, field: "password")
        guard !commonPasswords.contains(password.lowercased()) else {
            throw Violation(field: "password", "is one of the most common passwords; choose another")
        }
    }

    /// A display name: one line, at most 100 characters.
    public static func name(_ name: String?) throws(Violation) -> String {
        try TextRules.check(name ?? "", field: "name", maxCharacters: 100, allowEmpty: true)
    }

    /// Passwords of 8 characters or more from the most-used lists, lower-cased.
    static let commonPasswords: Set<String> = [
        "password", "password1", "password123", "12345678", "123456789", "1234567890", "qwertyuiop", "qwerty123",
        "iloveyou", "sunshine", "princess", "football", "baseball", "welcome1", "welcome123", "abc12345",
        "11111111", "00000000", "88888888", "12341234", "1q2w3e4r", "1q2w3e4r5t", "qwerty12", "superman", "trustno1",
        "starwars", "passw0rd", "p@ssw0rd", "p@ssword", "letmein1", "master123", "dragon123", "monkey123",
        "zaq12wsx", "asdfghjkl", "asdf1234", "qazwsxedc", "michelle", "jennifer", "computer", "whatever",
        "internet", "changeme", "administrator", "admin123", "admin1234", "secret123", "shadow123", "freedom1",
        "hello123", "liverpool", "chelsea1", "charlie1", "9876543210", "87654321", "123123123", "password!",
    ]
}
