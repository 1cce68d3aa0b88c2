import CRDKafka
import MeridianCore

/// librdkafka's built-in mock Kafka cluster: real Kafka protocol over TCP on 127.0.0.1, in process.
///
/// Used by `meridian dev kafka` and by the integration tests, which can take brokers down and
/// inject request errors.
public final class KafkaMockCluster: @unchecked Sendable {
    private let client: OpaquePointer
    private let cluster: OpaquePointer

    /// Starts a cluster of `brokers` brokers.
    public init(brokers: Int = 3) throws {
        let conf = try makeConf([("log_level", "3")])
        var errorText = [CChar](repeating: 0, count: 512)
        guard let client = rd_kafka_new(RD_KAFKA_PRODUCER, conf, &errorText, errorText.count) else {
            rd_kafka_conf_destroy(conf)
            throw EventLogError(.other, "cannot create the mock cluster's client: \(errorString(errorText))")
        }
        guard let cluster = rd_kafka_mock_cluster_new(client, Int32(brokers)) else {
            rd_kafka_destroy(client)
            throw EventLogError(.other, "cannot start the Kafka mock cluster")
        }
        self.client = client
        self.cluster = cluster
        self.brokerCount = brokers
    }

    deinit {
        rd_kafka_mock_cluster_destroy(cluster)
        rd_kafka_destroy(client)
    }

    public let brokerCount: Int

    /// The `bootstrap.servers` of the cluster.
    public var bootstrapServers: String {
        String(cString: rd_kafka_mock_cluster_bootstraps(cluster))
    }

    /// Creates a topic.
    public func createTopic(_ name: String, partitions: Int32, replicationFactor: Int32 = 1) throws {
        let code = rd_kafka_mock_topic_create(cluster, name, partitions, replicationFactor)
        if code != RD_KAFKA_RESP_ERR_NO_ERROR { throw EventLogError(kafka: code) }
    }

    /// Takes a broker (1-based id) down: its connections are closed and it accepts none.
    public func setBrokerDown(_ id: Int32) {
        _ = rd_kafka_mock_broker_set_down(cluster, id)
    }

    /// Brings a broker back up.
    public func setBrokerUp(_ id: Int32) {
        _ = rd_kafka_mock_broker_set_up(cluster, id)
    }

    /// The next produce requests fail with these broker errors, one request per error.
    public func failNextProduceRequests(with errors: [Int32]) {
        var codes = errors.map { rd_kafka_resp_err_t(rawValue: $0) }
        rd_kafka_mock_push_request_errors_array(cluster, Self.produceAPIKey, codes.count, &codes)
    }

    /// The Kafka protocol's API key of Produce requests.
    private static let produceAPIKey: Int16 = 0

    /// The broker error code for "message too large".
    public static let messageTooLarge = RD_KAFKA_RESP_ERR_MSG_SIZE_TOO_LARGE.rawValue
}
