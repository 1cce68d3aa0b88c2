import AsyncHTTPClient
import Foundation
import MeridianCore
import NIOCore
import NIOHTTP1

/// A small Amazon DynamoDB client: the operations an idempotent sink needs (conditional puts, gets, queries by key,
/// creating a table), over DynamoDB's JSON protocol (`POST /` with `X-Amz-Target: DynamoDB_20120810.<Operation>` and
/// an `application/x-amz-json-1.0` body), signed with ``SignatureV4`` for the service `dynamodb`, the body's SHA-256
/// in the signature.
///
/// Written by hand: no maintained Swift DynamoDB client is among the packages available here (Soto is not), and
/// these few operations are small and fully specified (docs.aws.amazon.com, "Amazon DynamoDB API Reference"). Its
/// tests run against moto with signature checking on.
///
/// Throttling (`ProvisionedThroughputExceededException`, `ThrottlingException`, `RequestLimitExceeded`), 5xx answers
/// and requests that got no answer are tried again, up to ``Configuration/maxAttempts`` in all, after a backoff
/// that doubles (with jitter); any other 4xx is thrown at once. A retried request may already have been applied
/// (a 500 or a lost answer): a retried conditional ``putItem(table:item:condition:names:values:)`` whose first try
/// wrote may then report `false`, which an idempotent sink can take as written.
public struct DynamoDBClient: Sendable {
    public struct Configuration: Sendable {
        /// Default `us-east-1`.
        public var region: String
        /// The service's URL, such as `http://127.0.0.1:8000`; nil means AWS DynamoDB in ``region``
        /// (`https://dynamodb.<region>.amazonaws.com`).
        public var endpoint: String?
        /// Longest wait for one request (one try). Default 10 s.
        public var requestTimeout: Duration = .seconds(10)
        /// Tries of a throttled or failed request, the first included. Default 4.
        public var maxAttempts = 4
        /// The backoff before the second try, doubled before each next one (at most 2 s), each taken at 50 to 100 %.
        /// Default 50 ms.
        public var retryDelay: Duration = .milliseconds(50)
        /// How often ``DynamoDBClient/waitUntilActive(table:timeout:)`` asks. Default 500 ms.
        public var pollInterval: Duration = .milliseconds(500)

        public init(region: String = "us-east-1", endpoint: String? = nil) {
            self.region = region
            self.endpoint = endpoint
        }
    }

    /// An item (or a key): attribute names and their values.
    public typealias Item = [String: AttributeValue]

    /// A key attribute of a table: its name and scalar type.
    public struct KeyAttribute: Sendable, Hashable {
        public enum ScalarType: String, Sendable, Hashable {
            case string = "S"
            case number = "N"
            case binary = "B"
        }

        public var name: String
        public var type: ScalarType

        public init(name: String, type: ScalarType) {
            self.name = name
            self.type = type
        }

        public static func string(_ name: String) -> KeyAttribute { KeyAttribute(name: name, type: .string) }
        public static func number(_ name: String) -> KeyAttribute { KeyAttribute(name: name, type: .number) }
        public static func binary(_ name: String) -> KeyAttribute { KeyAttribute(name: name, type: .binary) }
    }

    /// What `DescribeTable` tells of a table.
    public struct TableDescription: Sendable, Hashable {
        public var name: String
        /// `CREATING`, `ACTIVE`, `UPDATING`, `DELETING`, …
        public var status: String
        public var partitionKey: KeyAttribute?
        public var sortKey: KeyAttribute?
        /// DynamoDB's estimate (updated about every six hours on AWS).
        public var itemCount: Int?
    }

    public let configuration: Configuration
    private let credentials: any S3CredentialSource
    private let http: HTTPClient
    private let url: String
    /// `host[:port]` of the requests, as signed.
    private let host: String

    public init(configuration: Configuration, credentials: S3Credentials, http: HTTPClient = .shared) throws {
        try self.init(configuration: configuration, credentialSource: StaticCredentials(credentials), http: http)
    }

    /// - Parameter credentialSource: asked before each request (web identity renews its credentials before they expire).
    public init(configuration: Configuration, credentialSource: any S3CredentialSource, http: HTTPClient = .shared) throws {
        self.configuration = configuration
        self.http = http
        credentials = credentialSource
        let endpoint = configuration.endpoint ?? "https://dynamodb.\(configuration.region).amazonaws.com"
        guard let parsed = AWSEndpoint(endpoint) else {
            throw DynamoDBError(
                type: .invalidConfiguration, message: "the endpoint \(endpoint) is not an http(s) URL", status: nil,
                operation: "configuration")
        }
        host = parsed.host
        url = "\(parsed.scheme)://\(host)/"
    }

    // MARK: Items

    /// Writes `item`, replacing the one with its key, when `condition` (a condition expression, with `names` for
    /// its `#name` placeholders and `values` for its `:value` ones) holds or is nil. Returns false, not an error,
    /// when the condition failed (`ConditionalCheckFailedException`): nothing was written.
    @discardableResult
    public func putItem(
        table: String, item: Item, condition: String? = nil, names: [String: String] = [:], values: Item = [:]
    ) async throws -> Bool {
        let input = PutItemInput(
            TableName: table, Item: item, ConditionExpression: condition,
            ExpressionAttributeNames: names.isEmpty ? nil : names, ExpressionAttributeValues: values.isEmpty ? nil : values)
        do {
            _ = try await call("PutItem", input)
            return true
        } catch let error as DynamoDBError where error.type == .conditionalCheckFailed {
            return false
        }
    }

    /// The item with `key` (all its key attributes), or nil. `consistentRead` reads the latest write (twice the
    /// read cost on AWS); otherwise a read may miss a write of the last second.
    public func getItem(table: String, key: Item, consistentRead: Bool = false) async throws -> Item? {
        let output = try await call(
            "GetItem", GetItemInput(TableName: table, Key: key, ConsistentRead: consistentRead ? true : nil),
            as: GetItemOutput.self)
        return output.Item
    }

    /// The items matching `keyCondition` (a key condition expression on the partition key, and optionally the sort
    /// key, with `names` and `values` as in ``putItem(table:item:condition:names:values:)``), in sort key order:
    /// all of them, or the first `limit`. Pages (1 MB each on AWS) are followed until then.
    public func query(
        table: String, keyCondition: String, names: [String: String] = [:], values: Item, limit: Int? = nil
    ) async throws -> [Item] {
        var items: [Item] = []
        var start: Item?
        repeat {
            let input = QueryInput(
                TableName: table, KeyConditionExpression: keyCondition, ExpressionAttributeNames: names.isEmpty ? nil : names,
                ExpressionAttributeValues: values.isEmpty ? nil : values, Limit: limit.map { $0 - items.count },
                ExclusiveStartKey: start)
            let page = try await call("Query", input, as: QueryOutput.self)
            items += page.Items ?? []
            start = page.LastEvaluatedKey
        } while start != nil && (limit.map { items.count < $0 } ?? true)
        return items
    }

    // MARK: Tables

    /// Creates the table `name` with its key, billed per request (no capacity to plan), and waits until it is
    /// `ACTIVE`. Returns true when it created it, false when the table was there (`ResourceInUseException`) with
    /// the same key; a table of that name with another key is an error.
    @discardableResult
    public func createTable(name: String, partitionKey: KeyAttribute, sortKey: KeyAttribute? = nil) async throws -> Bool {
        let keys = [(partitionKey, "HASH")] + (sortKey.map { [($0, "RANGE")] } ?? [])
        let input = CreateTableInput(
            TableName: name,
            AttributeDefinitions: keys.map { .init(AttributeName: $0.0.name, AttributeType: $0.0.type.rawValue) },
            KeySchema: keys.map { .init(AttributeName: $0.0.name, KeyType: $0.1) }, BillingMode: "PAY_PER_REQUEST")
        let created: Bool
        do {
            _ = try await call("CreateTable", input)
            created = true
        } catch let error as DynamoDBError where error.type == .resourceInUse {
            created = false
        }
        let table = try await waitUntilActive(table: name)
        guard table.partitionKey == partitionKey, table.sortKey == sortKey else {
            let keyNames = { (key: KeyAttribute?) in key.map { "\($0.name) (\($0.type.rawValue))" } ?? "none" }
            throw DynamoDBError(
                type: .resourceInUse,
                message:
                    "table \(name) exists with partition key \(keyNames(table.partitionKey)) and sort key \(keyNames(table.sortKey)), "
                    + "not \(keyNames(partitionKey)) and \(keyNames(sortKey))",
                status: nil, operation: "CreateTable")
        }
        return created
    }

    /// The table's status, key and item count; a missing table is a `ResourceNotFoundException`.
    public func describeTable(_ name: String) async throws -> TableDescription {
        let table = try await call("DescribeTable", TableNameInput(TableName: name), as: DescribeTableOutput.self).Table
        let types = Dictionary(
            (table.AttributeDefinitions ?? []).map { ($0.AttributeName, $0.AttributeType) }, uniquingKeysWith: { a, _ in a })
        func key(_ role: String) -> KeyAttribute? {
            guard let element = table.KeySchema?.first(where: { $0.KeyType == role }),
                let type = types[element.AttributeName].flatMap(KeyAttribute.ScalarType.init(rawValue:))
            else { return nil }
            return KeyAttribute(name: element.AttributeName, type: type)
        }
        return TableDescription(
            name: table.TableName ?? name, status: table.TableStatus ?? "", partitionKey: key("HASH"), sortKey: key("RANGE"),
            itemCount: table.ItemCount)
    }

    /// Asks until the table is `ACTIVE` (a new table takes seconds on AWS; writes before then fail) and returns it;
    /// an error when it still is not after `timeout`.
    @discardableResult
    public func waitUntilActive(table: String, timeout: Duration = .seconds(60)) async throws -> TableDescription {
        let deadline = ContinuousClock.now.advanced(by: timeout)
        while true {
            let description = try await describeTable(table)
            if description.status == "ACTIVE" { return description }
            guard ContinuousClock.now < deadline else {
                throw DynamoDBError(
                    type: .notActive, message: "table \(table) is still \(description.status) after \(timeout)", status: nil,
                    operation: "DescribeTable")
            }
            try await Task.sleep(for: configuration.pollInterval)
        }
    }

    // MARK: Requests

    static let contentType = "application/x-amz-json-1.0"
    /// DynamoDB's answers are at most 1 MB of items (a page), a little more as JSON.
    static let maximumAnswer = 16 * 1_048_576

    private func call<Output: Decodable>(_ operation: String, _ input: some Encodable, as: Output.Type) async throws -> Output {
        let answer = try await call(operation, input)
        do {
            return try JSONDecoder().decode(Output.self, from: Data(answer.readableBytesView))
        } catch {
            throw DynamoDBError(
                type: .invalidResponse, message: "the answer is not \(Output.self): \(error)", status: 200, operation: operation)
        }
    }

    /// Sends `operation` with `input` as its body, again after a backoff when throttled, failed (5xx) or unanswered.
    private func call(_ operation: String, _ input: some Encodable) async throws -> ByteBuffer {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        let body = try encoder.encode(input)
        var attempt = 1
        while true {
            do {
                return try await send(operation, body)
            } catch let error as DynamoDBError where attempt < configuration.maxAttempts && error.isRetryable {
                try await Task.sleep(for: Self.backoff(attempt: attempt, first: configuration.retryDelay))
                attempt += 1
            }
        }
    }

    /// The wait after the `attempt`th try: `first` doubled each time, at most 2 s, taken at 50 to 100 %.
    static func backoff(attempt: Int, first: Duration) -> Duration {
        let full = min(first * (1 << min(attempt - 1, 20)), .seconds(2))
        return full * Double.random(in: 0.5...1)
    }

    private func send(_ operation: String, _ body: Data) async throws -> ByteBuffer {
        let signer = SignatureV4(credentials: try await credentials.current(), region: configuration.region, service: "dynamodb")
        let headers = ["host": host, "content-type": Self.contentType, "x-amz-target": "DynamoDB_20120810.\(operation)"]
        var request = HTTPClientRequest(url: url)
        request.method = .POST
        for (name, value) in headers where name != "host" { request.headers.add(name: name, value: value) }
        for (name, value) in signer.authorization(
            method: "POST", path: "/", query: [], headers: headers, payloadHash: SignatureV4.hex(SignatureV4.sha256(Array(body))))
        {
            request.headers.add(name: name, value: value)
        }
        request.body = .bytes(ByteBuffer(bytes: body))
        let response: HTTPClientResponse
        let answer: ByteBuffer
        do {
            response = try await http.execute(request, timeout: .nanoseconds(configuration.requestTimeout.nanoseconds))
            answer = try await response.body.collect(upTo: Self.maximumAnswer)
        } catch is NIOTooManyBytesError {
            throw DynamoDBError(
                type: .invalidResponse, message: "the answer is larger than \(Self.maximumAnswer) bytes", status: nil,
                operation: operation)
        } catch {
            throw DynamoDBError(type: .unreachable, message: "no answer from \(url): \(error)", status: nil, operation: operation)
        }
        guard response.status == .ok else {
            throw DynamoDBError(operation: operation, status: response.status, headers: response.headers, body: answer)
        }
        return answer
    }
}

/// A value of a DynamoDB attribute, encoded as DynamoDB's JSON does: an object with one member naming the type,
/// such as `{"S": "mug"}`, `{"N": "42"}`, `{"NULL": true}` or `{"M": {"revision": {"N": "3"}}}`.
///
/// Numbers are kept as DynamoDB's decimal text (up to 38 digits), never through a `Double`; two values are equal when
/// their text is (`1.5` is not `1.50`), and sets when their members come in the same order (DynamoDB keeps no order).
/// Literals make items short to write: `["pk": "shop", "revision": 3, "final": true]`.
public enum AttributeValue: Sendable, Hashable, Codable {
    case string(String)
    case number(String)
    case binary([UInt8])
    case bool(Bool)
    case null
    indirect case map([String: AttributeValue])
    indirect case list([AttributeValue])
    case stringSet([String])
    case numberSet([String])
    case binarySet([[UInt8]])

    /// A number from an integer.
    public static func integer(_ value: some BinaryInteger) -> AttributeValue { .number(String(value)) }

    public var stringValue: String? {
        if case .string(let value) = self { return value }
        return nil
    }

    /// The decimal text of a number.
    public var numberText: String? {
        if case .number(let value) = self { return value }
        return nil
    }

    /// A number that is a whole `Int64`.
    public var int64Value: Int64? { numberText.flatMap { Int64($0) } }

    public var boolValue: Bool? {
        if case .bool(let value) = self { return value }
        return nil
    }

    public var mapValue: [String: AttributeValue]? {
        if case .map(let value) = self { return value }
        return nil
    }

    public var listValue: [AttributeValue]? {
        if case .list(let value) = self { return value }
        return nil
    }

    public var isNull: Bool { self == .null }

    private struct TypeKey: CodingKey {
        var stringValue: String
        var intValue: Int? { nil }
        init(_ name: String) { stringValue = name }
        init?(stringValue: String) { self.stringValue = stringValue }
        init?(intValue: Int) { nil }
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: TypeKey.self)
        switch self {
        case .string(let value): try container.encode(value, forKey: TypeKey("S"))
        case .number(let value): try container.encode(value, forKey: TypeKey("N"))
        case .binary(let value): try container.encode(Data(value).base64EncodedString(), forKey: TypeKey("B"))
        case .bool(let value): try container.encode(value, forKey: TypeKey("BOOL"))
        case .null: try container.encode(true, forKey: TypeKey("NULL"))
        case .map(let value): try container.encode(value, forKey: TypeKey("M"))
        case .list(let value): try container.encode(value, forKey: TypeKey("L"))
        case .stringSet(let value): try container.encode(value, forKey: TypeKey("SS"))
        case .numberSet(let value): try container.encode(value, forKey: TypeKey("NS"))
        case .binarySet(let value): try container.encode(value.map { Data($0).base64EncodedString() }, forKey: TypeKey("BS"))
        }
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: TypeKey.self)
        guard container.allKeys.count == 1, let key = container.allKeys.first else {
            throw DecodingError.dataCorrupted(
                .init(
                    codingPath: decoder.codingPath,
                    debugDescription:
                        "an attribute value has one member naming its type, not \(container.allKeys.map(\.stringValue))"))
        }
        func bytes(_ text: String) throws -> [UInt8] {
            guard let data = Data(base64Encoded: text) else {
                throw DecodingError.dataCorruptedError(forKey: key, in: container, debugDescription: "binary is not base64")
            }
            return Array(data)
        }
        switch key.stringValue {
        case "S": self = .string(try container.decode(String.self, forKey: key))
        case "N": self = .number(try container.decode(String.self, forKey: key))
        case "B": self = .binary(try bytes(container.decode(String.self, forKey: key)))
        case "BOOL": self = .bool(try container.decode(Bool.self, forKey: key))
        case "NULL": self = .null
        case "M": self = .map(try container.decode([String: AttributeValue].self, forKey: key))
        case "L": self = .list(try container.decode([AttributeValue].self, forKey: key))
        case "SS": self = .stringSet(try container.decode([String].self, forKey: key))
        case "NS": self = .numberSet(try container.decode([String].self, forKey: key))
        case "BS": self = .binarySet(try container.decode([String].self, forKey: key).map(bytes))
        default:
            throw DecodingError.dataCorruptedError(
                forKey: key, in: container, debugDescription: "unknown attribute type \(key.stringValue)")
        }
    }
}

extension AttributeValue: ExpressibleByStringLiteral, ExpressibleByIntegerLiteral, ExpressibleByBooleanLiteral,
    ExpressibleByArrayLiteral, ExpressibleByDictionaryLiteral
{
    public init(stringLiteral value: String) { self = .string(value) }
    public init(integerLiteral value: Int) { self = .number(String(value)) }
    public init(booleanLiteral value: Bool) { self = .bool(value) }
    public init(arrayLiteral elements: AttributeValue...) { self = .list(elements) }
    public init(dictionaryLiteral elements: (String, AttributeValue)...) {
        self = .map(Dictionary(elements, uniquingKeysWith: { _, last in last }))
    }
}

/// A request DynamoDB refused or that got no answer: the AWS error type (`ResourceNotFoundException`, from
/// `__type` after its `#`, or `SignatureDoesNotMatch` from an XML answer), its message and the HTTP status.
public struct DynamoDBError: Error, Sendable, Hashable, CustomStringConvertible {
    /// An AWS error type, or one of this client's own for what AWS did not say (``unreachable``,
    /// ``invalidResponse``, ``notActive``, ``invalidConfiguration``).
    public struct ErrorType: RawRepresentable, Sendable, Hashable, CustomStringConvertible, ExpressibleByStringLiteral {
        public var rawValue: String
        public init(rawValue: String) { self.rawValue = rawValue }
        public init(stringLiteral value: String) { rawValue = value }
        public var description: String { rawValue }

        public static let conditionalCheckFailed: ErrorType = "ConditionalCheckFailedException"
        public static let resourceNotFound: ErrorType = "ResourceNotFoundException"
        public static let resourceInUse: ErrorType = "ResourceInUseException"
        public static let validation: ErrorType = "ValidationException"
        public static let provisionedThroughputExceeded: ErrorType = "ProvisionedThroughputExceededException"
        public static let throttling: ErrorType = "ThrottlingException"
        public static let requestLimitExceeded: ErrorType = "RequestLimitExceeded"
        /// A signature made with another secret (moto; AWS says ``invalidSignature``).
        public static let signatureDoesNotMatch: ErrorType = "SignatureDoesNotMatch"
        public static let invalidSignature: ErrorType = "InvalidSignatureException"
        /// An access key nobody has (AWS; moto says `InvalidClientTokenId`).
        public static let unrecognizedClient: ErrorType = "UnrecognizedClientException"
        /// The request got no answer (refused, reset, timed out): ``DynamoDBError/status`` is nil.
        public static let unreachable: ErrorType = "Unreachable"
        /// An answer that is not DynamoDB's JSON.
        public static let invalidResponse: ErrorType = "InvalidResponse"
        /// A table not `ACTIVE` within the wait.
        public static let notActive: ErrorType = "TableNotActive"
        public static let invalidConfiguration: ErrorType = "InvalidConfiguration"
    }

    public var type: ErrorType
    public var message: String
    /// The HTTP status of the answer; nil when none came.
    public var status: UInt?
    /// `PutItem`, `Query`, …
    public var operation: String

    public init(type: ErrorType, message: String, status: UInt?, operation: String) {
        self.type = type
        self.message = message
        self.status = status
        self.operation = operation
    }

    /// `DynamoDB PutItem: SignatureDoesNotMatch: The request signature … (HTTP 403)`.
    public var description: String {
        "DynamoDB \(operation): \(type): \(message)" + (status.map { " (HTTP \($0))" } ?? "")
    }

    /// Throttling, a failure of the service (5xx) or no answer: worth trying again after a while.
    public var isRetryable: Bool {
        guard let status else { return type == .unreachable }
        return status >= 500 || [.provisionedThroughputExceeded, .throttling, .requestLimitExceeded].contains(type)
    }

    /// The error in a refusal: DynamoDB's JSON (`{"__type": "com.amazonaws.dynamodb.v20120810#Type", "message": …}`),
    /// an XML `ErrorResponse` (signature errors from moto and some proxies), else the `X-Amzn-ErrorType` header or the
    /// status, with the start of the body as the message.
    init(operation: String, status: HTTPResponseStatus, headers: HTTPHeaders, body: ByteBuffer) {
        struct JSONError: Decodable {
            var __type: String?
            var message: String?
            var Message: String?
        }
        self.operation = operation
        self.status = status.code
        if let error = try? JSONDecoder().decode(JSONError.self, from: Data(body.readableBytesView)), let name = error.__type {
            type = ErrorType(rawValue: String(name.split(separator: "#").last ?? Substring(name)))
            message = error.message ?? error.Message ?? ""
        } else if let document = try? S3XML.parseNow(body), let code = document.text(of: "Code") {
            type = ErrorType(rawValue: code)
            message = document.text(of: "Message") ?? ""
        } else {
            let header = headers.first(name: "x-amzn-errortype").map { String($0.split(separator: ":").first ?? "") }
            type = ErrorType(rawValue: header.flatMap { $0.isEmpty ? nil : $0 } ?? "HTTP \(status.code)")
            let text = String(buffer: body).trimmingCharacters(in: .whitespacesAndNewlines)
            message = text.isEmpty ? status.reasonPhrase : String(text.prefix(300))
        }
    }
}

// MARK: Wire shapes (DynamoDB's member names)

private struct PutItemInput: Encodable {
    var TableName: String
    var Item: DynamoDBClient.Item
    var ConditionExpression: String?
    var ExpressionAttributeNames: [String: String]?
    var ExpressionAttributeValues: DynamoDBClient.Item?
}

private struct GetItemInput: Encodable {
    var TableName: String
    var Key: DynamoDBClient.Item
    var ConsistentRead: Bool?
}

private struct GetItemOutput: Decodable {
    var Item: DynamoDBClient.Item?
}

private struct QueryInput: Encodable {
    var TableName: String
    var KeyConditionExpression: String
    var ExpressionAttributeNames: [String: String]?
    var ExpressionAttributeValues: DynamoDBClient.Item?
    var Limit: Int?
    var ExclusiveStartKey: DynamoDBClient.Item?
}

private struct QueryOutput: Decodable {
    var Items: [DynamoDBClient.Item]?
    var LastEvaluatedKey: DynamoDBClient.Item?
}

private struct AttributeDefinition: Codable {
    var AttributeName: String
    var AttributeType: String
}

private struct KeySchemaElement: Codable {
    var AttributeName: String
    var KeyType: String
}

private struct CreateTableInput: Encodable {
    var TableName: String
    var AttributeDefinitions: [AttributeDefinition]
    var KeySchema: [KeySchemaElement]
    var BillingMode: String
}

private struct TableNameInput: Encodable {
    var TableName: String
}

private struct DescribeTableOutput: Decodable {
    struct TableShape: Decodable {
        var TableName: String?
        var TableStatus: String?
        var KeySchema: [KeySchemaElement]?
        var AttributeDefinitions: [AttributeDefinition]?
        var ItemCount: Int?
    }

    var Table: TableShape
}
