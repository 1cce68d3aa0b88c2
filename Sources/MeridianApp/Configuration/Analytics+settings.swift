import MeridianAnalytics
import MeridianS3

/// The settings of the analytics role (`analytics.*`).
public struct AnalyticsSettings: Sendable {
    /// The windows of every job.
    public var windows: WindowEngine<Aggregate>.Configuration
    /// How long an instance holds a job without renewing it (milliseconds): how soon another takes over after a crash.
    public var leaseDuration: Int64
    /// Whether results also go to object storage (`analytics/<job>/date=…/…json`).
    public var objectSink: Bool
    /// The DynamoDB sink, when `analytics.dynamodb.table` names a table.
    public var dynamoDB: DynamoDBSink?

    /// Where the DynamoDB sink writes, and as whom.
    public struct DynamoDBSink: Sendable {
        public var table: String
        public var client: DynamoDBClient.Configuration
        public var credentials: AWSCredentialChoice
        /// Create the table at start when it does not exist (development; production creates it with Terraform).
        public var createTable: Bool
    }

    init(reader config: SettingsReader, environment: [String: String]) throws {
        windows = WindowEngine<Aggregate>.Configuration()
        windows.size = Int64(try config.int("windowSeconds", default: 60, in: 1...86_400)) * 1000
        windows.outOfOrderness = Int64(try config.int("outOfOrdernessSeconds", default: 5, in: 0...3_600)) * 1000
        windows.allowedLateness = Int64(try config.int("allowedLatenessSeconds", default: 60, in: 0...86_400)) * 1000
        windows.idleTimeout = Int64(try config.int("idleTimeoutSeconds", default: 30, in: 1...86_400)) * 1000
        leaseDuration = Int64(try config.int("leaseSeconds", default: 15, in: 2...3_600)) * 1000
        objectSink = try config.bool("objectSink", default: true)
        // Every key is read, set or not, so that a setting given without the table is no "unknown key".
        let dynamo = config.scoped(to: "dynamodb")
        let table = try dynamo.string("table", default: "")
        var client = DynamoDBClient.Configuration(
            region: try dynamo.string("region", default: environment["AWS_REGION"] ?? "us-east-1"))
        let endpoint = try dynamo.string("endpoint", default: "")
        let createTable = try dynamo.bool("createTable", default: false)
        let credentials = try AWSCredentialChoice.resolve(dynamo, environment: environment, region: client.region)
        guard !table.isEmpty else { return }
        // DynamoDB's rule for table names.
        let allowed = Set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-.".utf8)
        guard (3...255).contains(table.utf8.count), table.utf8.allSatisfy(allowed.contains) else {
            throw dynamo.invalid("table", "'\(table)' is not a DynamoDB table name (3 to 255 of a-z, A-Z, 0-9, _ - .)")
        }
        if !endpoint.isEmpty {
            guard endpoint.hasPrefix("http://") || endpoint.hasPrefix("https://") else {
                throw dynamo.invalid("endpoint", "'\(endpoint)' is not an http(s) URL")
            }
            client.endpoint = endpoint
        }
        guard let credentials else {
            throw dynamo.invalid(
                "table",
                "the DynamoDB sink needs credentials: analytics.dynamodb.accessKeyId and analytics.dynamodb.secretAccessKey, AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or AWS_ROLE_ARN and AWS_WEB_IDENTITY_TOKEN_FILE"
            )
        }
        dynamoDB = DynamoDBSink(table: table, client: client, credentials: credentials, createTable: createTable)
    }
}
