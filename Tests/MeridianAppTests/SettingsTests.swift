import Configuration
import Foundation
import MeridianIngest
import MeridianKafka
import Synchronization
import Testing

@testable import MeridianApp

/// Records every configuration key the code reads.
final class KeyRecorder: AccessReporter {
    let keys = Mutex<Set<String>>([])

    func report(_ event: AccessEvent) {
        let key = event.metadata.key.components.joined(separator: ".")
        _ = keys.withLock { $0.insert(key) }
    }
}

let packageRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
    .deletingLastPathComponent()

@Suite struct SettingsTests {
    @Test func everyKeyTheCodeReadsIsDocumented() async throws {
        let recorder = KeyRecorder()
        let reader = try await MeridianSettings.reader(environment: [:], accessReporter: recorder)
        _ = try MeridianSettings(reader: reader)
        let keys = recorder.keys.withLock { $0 }
        #expect(keys.count > 30)
        let document = try String(contentsOf: packageRoot.appendingPathComponent("docs/configuration.md"), encoding: .utf8)
        for key in keys.sorted() {
            #expect(document.contains("`\(key)`"), "docs/configuration.md lacks the key \(key)")
            // The mapping the reader names in its errors; `badValuesNameTheirKey` checks it against the real provider.
            let variable = "MERIDIAN_" + SettingsReader.environmentName(key)
            #expect(document.contains("`\(variable)`"), "docs/configuration.md lacks the variable \(variable)")
        }
    }

    @Test func defaults() async throws {
        let settings = try MeridianSettings(reader: try await MeridianSettings.reader(environment: [:]))
        #expect(settings.port == 8080)
        #expect(settings.dataDirectory == "./.meridian")
        #expect(settings.eventLog == .embedded)
        #expect(settings.roles == MeridianSettings.Role.allCases)
        #expect(settings.shutdownTimeout == .seconds(30))
        #expect(settings.ingest.ack == .durable)
        #expect(!settings.tracing.enabled)
        #expect(settings.tracing.endpoint == "http://localhost:4318/v1/traces")
        #expect(settings.tracing.wireProtocol == .protobuf && settings.tracing.sampleRatio == 1)
    }

    @Test func layersCommandLineOverEnvironmentOverFile() async throws {
        let file = NSTemporaryDirectory() + "meridian-config-\(UUID().uuidString).json"
        try Data(#"{"http":{"port":7000,"host":"0.0.0.0"},"kafka":{"lingerMs":9},"dataDir":"/file"}"#.utf8)
            .write(to: URL(fileURLWithPath: file))
        defer { try? FileManager.default.removeItem(atPath: file) }
        let environment = [
            "MERIDIAN_HTTP_PORT": "8000", "MERIDIAN_DATA_DIR": "/env", "MERIDIAN_EVENT_LOG": "kafka",
            "MERIDIAN_KAFKA_BROKERS": "a:1,b:2", "MERIDIAN_KAFKA_PROPERTY_SASL_MECHANISM": "PLAIN",
            "MERIDIAN_KAFKA_PROPERTIES": "security.protocol=SASL_SSL",
        ]
        let reader = try await MeridianSettings.reader(
            overrides: ["http.port": .init(.int(9000), isSecret: false)], environment: environment, configFile: file)
        let settings = try MeridianSettings(reader: reader, environment: environment)
        #expect(settings.port == 9000)
        #expect(settings.host == "0.0.0.0")
        #expect(settings.dataDirectory == "/env")
        #expect(settings.eventLog == .kafka)
        #expect(settings.kafka.brokers == "a:1,b:2")
        #expect(settings.kafka.lingerMilliseconds == 9)
        #expect(settings.kafka.properties["sasl.mechanism"] == "PLAIN")
        #expect(settings.kafka.properties["security.protocol"] == "SASL_SSL")
    }

    @Test(arguments: [
        ("MERIDIAN_ROLES", "ingestor,nope", "roles"),
        ("MERIDIAN_EVENT_LOG", "zookeeper", "eventLog"),
        ("MERIDIAN_HTTP_PORT", "70000", "http.port"),
        ("MERIDIAN_INGEST_ACK", "sometimes", "ingest.ack"),
        ("MERIDIAN_INGEST_TYPE_PATTERN", "([", "ingest.typePattern"),
        ("MERIDIAN_INGEST_MAX_BATCH_EVENTS", "0", "ingest.maxBatchEvents"),
        ("MERIDIAN_KAFKA_PROPERTIES", "novalue", "kafka.properties"),
        ("MERIDIAN_STORAGE_MAX_CONNECTIONS", "0", "storage.maxConnections"),
        ("MERIDIAN_STORAGE_URL", "postgres://u@db/shop?prepared_statements=flase", "storage.url"),
        ("MERIDIAN_STORAGE_URL", "postgres://u@db/shop?sslmode=prefer", "storage.url"),
        ("MERIDIAN_STORAGE_URL", "postgres://u@db/shop?pool=3", "storage.url"),
        ("MERIDIAN_TRACING_ENABLED", "yes please", "tracing.enabled"),
        ("MERIDIAN_TRACING_ENDPOINT", "tempo:4318", "tracing.endpoint"),
        ("MERIDIAN_TRACING_PROTOCOL", "grpc", "tracing.protocol"),
        ("MERIDIAN_TRACING_SAMPLE_RATIO", "1.5", "tracing.sampleRatio"),
        ("MERIDIAN_TRACING_SAMPLE_RATIO", "-0.1", "tracing.sampleRatio"),
        ("MERIDIAN_TRACING_SERVICE_NAME", "", "tracing.serviceName"),
    ])
    func badValuesNameTheirKey(variable: String, value: String, key: String) async throws {
        let reader = try await MeridianSettings.reader(environment: [variable: value])
        do {
            _ = try MeridianSettings(reader: reader)
            Issue.record("\(variable)=\(value) must be refused")
        } catch let error as MeridianSettings.InvalidSetting {
            #expect(error.key == key)
        }
    }
}
