import Configuration
import Foundation
import Synchronization

/// A setting whose value cannot be used: names the key, where the value came from and what is accepted.
public struct InvalidSetting: Error, CustomStringConvertible {
    public var key: String
    public var reason: String
    /// Where the value came from: `environment variable MERIDIAN_HTTP_PORT`, `config file app.json`, `command line`.
    public var source: String?

    public init(key: String, reason: String, source: String? = nil) {
        self.key = key
        self.reason = reason
        self.source = source
    }

    public var description: String {
        if key == Self.configFileKey { return "config file \(reason) (the file named by --config or MERIDIAN_CONFIG_FILE)" }
        return "invalid setting \(key)\(source.map { " (from \($0))" } ?? ""): \(reason)"
    }

    /// The key of mistakes in the config file itself (unreadable, not JSON).
    static let configFileKey = "configFile"
}

/// Remembers, for every key read, which layer supplied its value and whether a layer held a value of the
/// wrong type. swift-configuration's `int(forKey:default:)` falls back to the default on a value it cannot
/// convert; ``SettingsReader`` asks this log afterwards and refuses the value instead.
final class SettingsAccessLog: AccessReporter {
    struct Entry {
        /// The layer whose value was used (or refused).
        var provider: String?
        /// Why a layer's value could not be converted.
        var failure: String?
    }

    private let entries = Mutex<[String: Entry]>([:])
    private let upstream: (any AccessReporter)?

    init(upstream: (any AccessReporter)?) {
        self.upstream = upstream
    }

    func report(_ event: AccessEvent) {
        upstream?.report(event)
        let key = event.metadata.key.components.joined(separator: ".")
        var entry = Entry()
        for result in event.providerResults {
            switch result.result {
            case .success(let lookup) where lookup.value != nil:
                entry.provider = entry.provider ?? result.providerName
            case .success:
                continue
            case .failure(let error):
                entry.provider = entry.provider ?? result.providerName
                entry.failure = entry.failure ?? "\(error)"
            }
        }
        if entry.failure == nil, let conversion = event.conversionError { entry.failure = "\(conversion)" }
        entries.withLock { $0[key] = entry }
    }

    func entry(_ key: String) -> Entry? { entries.withLock { $0[key] } }

    /// Every key read so far.
    var keys: Set<String> { entries.withLock { Set($0.keys) } }
}

/// Typed, validated reads of the layered configuration (command line, `MERIDIAN_*` variables, the JSON
/// file, defaults). A value of the wrong type or out of range, from any layer, is an ``InvalidSetting``
/// naming the key, the layer and what is accepted; an absent value is the default.
public struct SettingsReader: Sendable {
    let config: ConfigReader
    let log: SettingsAccessLog
    let configFile: String?
    let prefix: [String]

    /// Builds the layers: explicit values (command line) first, then `MERIDIAN_*` environment variables,
    /// then the optional JSON config file, then the defaults in code.
    public static func layered(
        overrides: [String: ConfigValue] = [:],
        environment: [String: String] = ProcessInfo.processInfo.environment,
        configFile: String? = nil,
        accessReporter: (any AccessReporter)? = nil
    ) async throws -> SettingsReader {
        var providers: [any ConfigProvider] = []
        if !overrides.isEmpty {
            var values: [AbsoluteConfigKey: ConfigValue] = [:]
            for (key, value) in overrides { values[AbsoluteConfigKey(ConfigKey(key))] = value }
            providers.append(InMemoryProvider(name: "command line", values: values))
        }
        providers.append(
            EnvironmentVariablesProvider(
                environmentVariables: environment,
                secretsSpecifier: .dynamic { key, _ in
                    key.contains("API_KEYS") || key.contains("PASSWORD") || key.contains("SECRET")
                }
            ).prefixKeys(with: "meridian"))
        let file = configFile ?? environment["MERIDIAN_CONFIG_FILE"]
        if let file {
            try ConfigFileCheck.validate(path: file)
            let location = ConfigReader(
                provider: InMemoryProvider(values: ["filePath": ConfigValue(.string(file), isSecret: false)]))
            providers.append(try await FileProvider<JSONSnapshot>(config: location))
        }
        let log = SettingsAccessLog(upstream: accessReporter)
        return SettingsReader(
            config: ConfigReader(providers: providers, accessReporter: log), log: log, configFile: file, prefix: [])
    }

    /// The keys under `scope` (`kafka` → `kafka.brokers` is read as `brokers`).
    public func scoped(to scope: String) -> SettingsReader {
        SettingsReader(
            config: config.scoped(to: ConfigKey(scope)), log: log, configFile: configFile,
            prefix: prefix + scope.split(separator: ".").map(String.init))
    }

    func fullKey(_ key: String) -> String { (prefix + [key]).joined(separator: ".") }

    /// Where the value of `key` came from, for messages.
    func source(of key: String) -> String? {
        guard let provider = log.entry(fullKey(key))?.provider else { return nil }
        if provider.contains("Environment") { return "environment variable MERIDIAN_" + Self.environmentName(fullKey(key)) }
        if provider.contains("File") { return "config file \(configFile ?? "")" }
        if provider.contains("command line") { return "command line" }
        return provider
    }

    func invalid(_ key: String, _ reason: String) -> InvalidSetting {
        InvalidSetting(key: fullKey(key), reason: reason, source: source(of: key))
    }

    /// Fails when a layer held a value for `key` that is not a `expected`.
    private func checkConversion(_ key: String, expected: String) throws {
        if log.entry(fullKey(key))?.failure != nil { throw invalid(key, "not \(expected)") }
    }

    public func string(_ key: String, default defaultValue: String, isSecret: Bool = false) throws -> String {
        let value = config.string(forKey: ConfigKey(key), isSecret: isSecret, default: defaultValue)
        try checkConversion(key, expected: "a string")
        return value
    }

    public func optionalString(_ key: String) throws -> String? {
        let value = config.string(forKey: ConfigKey(key))
        try checkConversion(key, expected: "a string")
        return value
    }

    /// A string that must be one of `accepted` (compared without case; the accepted spelling is returned).
    public func choice(_ key: String, default defaultValue: String, _ accepted: [String]) throws -> String {
        let value = try string(key, default: defaultValue)
        guard let match = accepted.first(where: { $0.caseInsensitiveCompare(value) == .orderedSame }) else {
            throw invalid(key, "'\(value)' is not one of \(accepted.joined(separator: ", "))")
        }
        return match
    }

    public func stringArray(_ key: String, default defaultValue: [String], isSecret: Bool = false) throws -> [String] {
        let value = config.stringArray(forKey: ConfigKey(key), isSecret: isSecret, default: defaultValue)
        try checkConversion(key, expected: "a list of strings (comma-separated in a variable)")
        return value
    }

    public func int(_ key: String, default defaultValue: Int, in range: ClosedRange<Int>) throws -> Int {
        let value = config.int(forKey: ConfigKey(key), default: defaultValue)
        try checkConversion(key, expected: "an integer; accepted: \(range.lowerBound)...\(range.upperBound)")
        guard range.contains(value) else {
            throw invalid(key, "\(value) is out of range; accepted: \(range.lowerBound)...\(range.upperBound)")
        }
        return value
    }

    public func double(_ key: String, default defaultValue: Double, in range: ClosedRange<Double>) throws -> Double {
        let value = config.double(forKey: ConfigKey(key), default: defaultValue)
        try checkConversion(key, expected: "a number; accepted: \(Self.format(range))")
        guard value.isFinite, range.contains(value) else {
            throw invalid(key, "\(value) is out of range; accepted: \(Self.format(range))")
        }
        return value
    }

    public func bool(_ key: String, default defaultValue: Bool) throws -> Bool {
        let value = config.bool(forKey: ConfigKey(key), default: defaultValue)
        try checkConversion(key, expected: "true or false")
        return value
    }

    /// A duration given in seconds (fractions allowed), within `range` seconds.
    public func seconds(_ key: String, default defaultValue: Double, in range: ClosedRange<Double>) throws -> Duration {
        .milliseconds(Int64((try double(key, default: defaultValue, in: range) * 1000).rounded()))
    }

    private static func format(_ range: ClosedRange<Double>) -> String {
        func text(_ value: Double) -> String {
            value == value.rounded() && abs(value) < 1e15 ? String(Int64(value)) : String(value)
        }
        return "\(text(range.lowerBound))...\(text(range.upperBound))"
    }

    /// swift-configuration's mapping of a key to its variable (without `MERIDIAN_`): dots and camel-case
    /// humps become underscores, upper-cased (`kafka.lingerMs` → `KAFKA_LINGER_MS`).
    public static func environmentName(_ key: String) -> String {
        var name = ""
        for character in key {
            if character == "." {
                name.append("_")
            } else if character.isUppercase {
                name.append("_")
                name.append(character)
            } else {
                name.append(character.uppercased())
            }
        }
        return name
    }

    /// Warnings for `MERIDIAN_*` variables and config-file keys that no setting reads (a typo must not pass
    /// silently). Call after every setting was read.
    public func unknownKeyWarnings(environment: [String: String]) -> [String] {
        let known = log.keys
        let knownVariables = Set(known.map { "MERIDIAN_" + Self.environmentName($0) })
        var warnings: [String] = []
        // Read by commands rather than settings: the config file's path, the benchmark admin's password, the
        // credentials `meridian ingest --target` sends.
        let ignoredVariables: Set<String> = [
            "MERIDIAN_CONFIG_FILE", "MERIDIAN_BENCH_ADMIN_PASSWORD", "MERIDIAN_TOKEN", "MERIDIAN_API_KEY",
        ]
        for name in environment.keys.sorted() where name.hasPrefix("MERIDIAN_") {
            guard !knownVariables.contains(name), !ignoredVariables.contains(name),
                !name.hasPrefix("MERIDIAN_KAFKA_PROPERTY_"), !name.hasPrefix("MERIDIAN_TEST_")
            else { continue }
            warnings.append("unknown environment variable \(name): no setting reads it (docs/configuration.md lists them)")
        }
        if let configFile, let keys = try? ConfigFileCheck.keys(path: configFile) {
            for key in keys.sorted() where !known.contains(key) {
                warnings.append("unknown key \(key) in config file \(configFile): no setting reads it")
            }
        }
        return warnings
    }
}

/// Checks a JSON config file before swift-configuration reads it, so a mistake names the file, the line
/// and the column (Foundation's own message is `NSCocoaErrorDomain Code=3840`).
enum ConfigFileCheck {
    static func validate(path: String) throws {
        let data: Data
        do {
            data = try Data(contentsOf: URL(fileURLWithPath: path))
        } catch {
            throw InvalidSetting(key: InvalidSetting.configFileKey, reason: "\(path) cannot be read: \(Self.reason(error))")
        }
        let object: Any
        do {
            object = try JSONSerialization.jsonObject(with: data)
        } catch {
            let (line, column, detail) = Self.position(of: error, in: data)
            throw InvalidSetting(
                key: InvalidSetting.configFileKey, reason: "\(path):\(line):\(column): not valid JSON: \(detail)")
        }
        guard object is [String: Any] else {
            throw InvalidSetting(
                key: InvalidSetting.configFileKey,
                reason: "\(path): the top level must be a JSON object, such as {\"http\": {\"port\": 8080}}")
        }
    }

    /// The dotted keys of the file's values (objects are walked, arrays and scalars are leaves).
    static func keys(path: String) throws -> Set<String> {
        let data = try Data(contentsOf: URL(fileURLWithPath: path))
        guard let object = try JSONSerialization.jsonObject(with: data) as? [String: Any] else { return [] }
        var keys: Set<String> = []
        func walk(_ object: [String: Any], _ prefix: String) {
            for (name, value) in object {
                let key = prefix.isEmpty ? name : prefix + "." + name
                if let nested = value as? [String: Any] { walk(nested, key) } else { keys.insert(key) }
            }
        }
        walk(object, "")
        return keys
    }

    private static func reason(_ error: any Error) -> String {
        if let error = error as? CocoaError, let underlying = error.userInfo[NSUnderlyingErrorKey] as? POSIXError {
            return String(cString: strerror(underlying.code.rawValue))
        }
        if let error = error as? CocoaError, error.code == .fileReadNoSuchFile { return "no such file" }
        if let error = error as? CocoaError, error.code == .fileReadNoPermission { return "permission denied" }
        return (error as NSError).localizedDescription
    }

    /// Line and column (from 1) of a parse error, from Foundation's message when it has one, else from
    /// the first byte a strict scan refuses.
    private static func position(of error: any Error, in data: Data) -> (Int, Int, String) {
        var message = ((error as NSError).userInfo[NSDebugDescriptionErrorKey] as? String) ?? ""
        let raw = message
        message = message.replacing(/\ around (line \d+, column \d+|character \d+)\.?/, with: "")
            .trimmingCharacters(in: CharacterSet(charactersIn: ". "))
        if message.isEmpty { message = "unexpected input" }
        if let match = raw.firstMatch(of: /line (\d+), column (\d+)/), let line = Int(match.1),
            let column = Int(match.2)
        {
            return (line, column, message)
        }
        if let match = raw.firstMatch(of: /at offset (\d+)|character (\d+)/),
            let offset = Int(match.1 ?? match.2 ?? "")
        {
            let (line, column) = lineAndColumn(offset: offset, in: data)
            return (line, column, message)
        }
        let (line, column) = lineAndColumn(offset: data.count, in: data)
        return (line, column, raw.isEmpty ? "unexpected end of the file" : message)
    }

    private static func lineAndColumn(offset: Int, in data: Data) -> (Int, Int) {
        var line = 1
        var column = 1
        for byte in data.prefix(offset) {
            if byte == UInt8(ascii: "\n") {
                line += 1
                column = 1
            } else {
                column += 1
            }
        }
        return (line, column)
    }
}
