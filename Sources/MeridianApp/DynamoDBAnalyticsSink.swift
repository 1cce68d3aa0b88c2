import MeridianAnalytics
import MeridianS3
import Synchronization

/// The DynamoDB sink of the analytics role: each result as one item of the table `analytics.dynamodb.table`,
/// partition key `pk` = `<job>#<key>` and sort key `window_start` (a key's windows in time order with one Query), with
/// `job`, `key`, `window_end`, `metrics` (a map), `revision` and `updated_at`. Every write is conditional on the
/// revision (`attribute_not_exists(pk) OR revision < :revision`): a replay, or a lower revision arriving late, leaves
/// the item as it is. Here, in the assembly, because neither the role nor the AWS adapter should know the other.
final class DynamoDBAnalyticsSink: AnalyticsSink {
    let name = "dynamodb"
    let client: DynamoDBClient
    let table: String
    let createTable: Bool
    private let prepared = Mutex(false)

    init(client: DynamoDBClient, table: String, createTable: Bool) {
        self.client = client
        self.table = table
        self.createTable = createTable
    }

    func write(_ results: [WindowResult]) async throws {
        if createTable, !prepared.withLock({ $0 }) {
            try await client.createTable(name: table, partitionKey: .string("pk"), sortKey: .string("window_start"))
            prepared.withLock { $0 = true }
        }
        for result in results {
            try await client.putItem(
                table: table, item: Self.item(result), condition: "attribute_not_exists(pk) OR revision < :revision",
                values: [":revision": .integer(result.revision)])
        }
    }

    static func item(_ result: WindowResult) -> DynamoDBClient.Item {
        var metrics: [String: AttributeValue] = [:]
        for (name, value) in result.metrics {
            switch value {
            case .integer(let number): metrics[name] = .integer(number)
            case .text(let text): metrics[name] = .string(text)
            }
        }
        return [
            "pk": .string("\(result.job)#\(result.key)"), "window_start": .string(result.windowStart),
            "job": .string(result.job), "key": .string(result.key), "window_end": .string(result.windowEnd),
            "metrics": .map(metrics), "revision": .integer(result.revision), "updated_at": .string(result.emittedAt),
        ]
    }
}
