import Foundation

/// Distributed tracing: spans exported over OTLP/HTTP (swift-otel), off by default.
public struct TracingSettings: Sendable {
    public enum WireProtocol: String, Sendable, CaseIterable {
        case protobuf = "http/protobuf"
        case json = "http/json"
    }

    /// Whether spans are recorded and exported.
    public var enabled: Bool
    /// Where spans go: an OTLP/HTTP traces URL, used as is (a collector, Tempo or Jaeger).
    public var endpoint: String
    public var wireProtocol: WireProtocol
    /// The share of new traces recorded; a request or event that arrives in a trace follows its parent's decision.
    public var sampleRatio: Double
    /// The `service.name` resource attribute; nil: `meridian-<role>` for one role, `meridian` for several.
    public var serviceName: String?

    init(reader config: SettingsReader) throws {
        enabled = try config.bool("enabled", default: false)
        endpoint = try config.string("endpoint", default: "http://localhost:4318/v1/traces")
        guard let url = URLComponents(string: endpoint), ["http", "https"].contains(url.scheme), url.host?.isEmpty == false
        else {
            throw config.invalid("endpoint", "'\(endpoint)' is not an http(s) URL such as http://tempo:4318/v1/traces")
        }
        wireProtocol = WireProtocol(
            rawValue: try config.choice("protocol", default: "http/protobuf", WireProtocol.allCases.map(\.rawValue)))!
        sampleRatio = try config.double("sampleRatio", default: 1, in: 0...1)
        let name = try config.optionalString("serviceName")
        if let name, name.isEmpty || name.utf8.count > 255 || name.unicodeScalars.contains(where: { $0.value < 0x20 }) {
            throw config.invalid("serviceName", "must be 1 to 255 printable characters")
        }
        serviceName = name
    }
}
