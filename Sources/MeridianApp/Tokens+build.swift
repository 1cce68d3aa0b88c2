import Foundation
import Logging
import MeridianAuth

/// The token service: the configured secret, or in embedded mode one generated on first start and kept
/// in `<dataDir>/jwt-secret` (readable by the owner only), with a warning.
public func buildTokens(settings: MeridianSettings, logger: Logger) async throws -> TokenService {
    if !settings.jwtSecret.isEmpty {
        return try await TokenService(secret: settings.jwtSecret, lifetime: settings.tokenLifetime)
    }
    let path = (settings.dataDirectory as NSString).appendingPathComponent("jwt-secret")
    let secret: String
    if let existing = try? String(contentsOfFile: path, encoding: .utf8), existing.utf8.count >= 32 {
        secret = existing.trimmingCharacters(in: .whitespacesAndNewlines)
    } else {
        var generator = SystemRandomNumberGenerator()
        secret = Data((0..<48).map { _ in UInt8.random(in: 0...255, using: &generator) }).base64EncodedString()
        try FileManager.default.createDirectory(atPath: settings.dataDirectory, withIntermediateDirectories: true)
        guard FileManager.default.createFile(atPath: path, contents: Data(secret.utf8), attributes: [.posixPermissions: 0o600])
        else { throw TokenError("cannot write \(path)") }
        logger.warning(
            "no auth.jwtSecret configured: generated one in the data dir; set MERIDIAN_AUTH_JWT_SECRET when running more than one process",
            metadata: ["path": "\(path)"])
    }
    return try await TokenService(secret: secret, lifetime: settings.tokenLifetime)
}
