import Foundation
import Logging
import MeridianCore
import MeridianEventLog
import MeridianKafka
import MeridianPostgres
import MeridianStorage
import NIOCore
import NIOPosix

/// Why `meridian serve` could not start, in one line naming the cause and the setting to change.
public struct StartupError: Error, CustomStringConvertible {
    public enum Kind: Sendable {
        /// A setting names something that cannot work (a bad TLS file, a malformed broker list).
        case configuration
        /// Something the process needs is busy or unreachable (the port, the database, the data dir's lock).
        case unavailable
        /// A file or directory cannot be created or written.
        case cannotCreate
    }

    public var kind: Kind
    public var description: String

    public init(_ kind: Kind, _ description: String) {
        self.kind = kind
        self.description = description
    }
}

/// The checks `serve` makes before it opens anything, so a busy port, an unwritable data dir or an
/// unreachable database is one clear error and nothing is left half-open.
public func checkStartup(_ settings: MeridianSettings, logger: Logger) async throws {
    if settings.port != 0 {
        do {
            let channel = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
                .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
                .bind(host: settings.host, port: settings.port).get()
            try await channel.close()
        } catch {
            throw listenError(error, settings: settings)
        }
    }
    if usesDataDirectory(settings) {
        try checkWritable(directory: settings.dataDirectory)
    }
    let storeRoles: Set<MeridianSettings.Role> = [.users, .products, .carts, .orders, .payments, .notifications]
    if settings.roles.contains(where: storeRoles.contains), !settings.storageURL.hasPrefix("sqlite:") {
        do {
            try await PostgresStore.checkConnection(url: settings.storageURL, logger: logger)
        } catch {
            throw StartupError(
                .unavailable,
                "cannot reach PostgreSQL at \(redacted(settings.storageURL)): \(error) (storage.url, MERIDIAN_STORAGE_URL)")
        }
    }
}

/// True when this process keeps files in the data dir: the embedded log, the SQLite store, the generated JWT secret.
func usesDataDirectory(_ settings: MeridianSettings) -> Bool {
    settings.eventLog == .embedded || settings.storageURL.hasPrefix("sqlite:") || settings.jwtSecret.isEmpty
}

/// Creates `directory` when missing and checks that a file can be written in it.
func checkWritable(directory: String) throws {
    let probe = (directory as NSString).appendingPathComponent(".meridian-write-check-\(getpid())")
    do {
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        try Data().write(to: URL(fileURLWithPath: probe))
        try FileManager.default.removeItem(atPath: probe)
    } catch {
        throw StartupError(
            .cannotCreate,
            "cannot write the data dir \(directory): \(posixReason(error)) (dataDir: --data-dir or MERIDIAN_DATA_DIR)")
    }
}

/// The one-line error of a failed `bind`.
func listenError(_ error: any Error, settings: MeridianSettings) -> StartupError {
    let address = "\(settings.host):\(settings.port)"
    if let error = error as? IOError {
        let reason = String(cString: strerror(error.errnoCode))
        let kind: StartupError.Kind = error.errnoCode == EADDRINUSE || error.errnoCode == EACCES ? .unavailable : .configuration
        return StartupError(
            kind, "cannot listen on \(address): \(reason) (http.port: --port or MERIDIAN_HTTP_PORT; http.host: --host)")
    }
    return StartupError(.configuration, "cannot listen on \(address): \(error) (http.host: --host or MERIDIAN_HTTP_HOST)")
}

/// Turns any error that stopped `serve` into one line: known causes name their setting.
public func describeStartupFailure(_ error: any Error, settings: MeridianSettings) -> StartupError {
    switch error {
    case let error as StartupError:
        return error
    case let error as IOError where error.errnoCode == EADDRINUSE || error.errnoCode == EACCES:
        return listenError(error, settings: settings)
    case let error as EventLogError where settings.eventLog == .embedded:
        let kind: StartupError.Kind = error.code == .locked ? .unavailable : .cannotCreate
        return StartupError(
            kind, "\(error.message) (embedded event log \(settings.embedded.path); dataDir: --data-dir or MERIDIAN_DATA_DIR)")
    case let error as EventLogError:
        return StartupError(
            error.code == .other ? .configuration : .unavailable,
            "Kafka: \(error.message) (kafka.brokers \(settings.kafka.brokers), kafka.properties)")
    default:
        return StartupError(.unavailable, "\(error)")
    }
}

/// The reason of a Foundation file error, as `strerror` says it.
func posixReason(_ error: any Error) -> String {
    if let error = error as? CocoaError {
        if let underlying = error.userInfo[NSUnderlyingErrorKey] as? POSIXError {
            return String(cString: strerror(underlying.code.rawValue))
        }
        switch error.code {
        case .fileWriteNoPermission, .fileReadNoPermission: return "permission denied"
        case .fileWriteOutOfSpace: return "no space left on the device"
        case .fileWriteVolumeReadOnly: return "read-only file system"
        default: break
        }
    }
    if let error = error as? POSIXError { return String(cString: strerror(error.code.rawValue)) }
    return "\(error)"
}

/// A URL with its password replaced by `***`, for messages and logs.
public func redacted(_ url: String) -> String {
    guard var components = URLComponents(string: url), components.password != nil else { return url }
    components.password = "***"
    return components.string ?? url
}
