import AsyncHTTPClient
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import MeridianTestSupport
import NIOCore
import NIOHTTP1
import Synchronization
import Testing

@testable import MeridianS3

extension Moto {
    func dynamoDB(credentials: S3Credentials? = nil) throws -> DynamoDBClient {
        try DynamoDBClient(
            configuration: .init(region: "us-east-1", endpoint: endpoint), credentials: credentials ?? self.credentials)
    }
}

/// The DynamoDB client against moto with Signature V4 (and so the body's hash) checked on every request, and against
/// a scripted server for the retries.
@Suite(.serialized) struct DynamoDBTests {
    static let condition = "attribute_not_exists(pk) OR revision < :revision"

    /// A window result as the analytics sink writes it: a higher revision replaces the item, a lower or equal one
    /// leaves it as it was.
    static func result(_ window: String, revision: Int, count: Int) -> DynamoDBClient.Item {
        ["pk": .string("orders/\(window)"), "sk": "count", "revision": .integer(revision), "value": .integer(count)]
    }

    @Test func createPutGetAndQueryWithSignaturesChecked() async throws {
        try await withMoto(checkSignatures: true) { moto in
            let db = try moto.dynamoDB()
            #expect(try await db.createTable(name: "analytics", partitionKey: .string("pk"), sortKey: .string("sk")))
            #expect(
                try await db.createTable(name: "analytics", partitionKey: .string("pk"), sortKey: .string("sk")) == false,
                "a table that is there is a success")
            let table = try await db.describeTable("analytics")
            #expect(table.status == "ACTIVE")
            #expect(table.partitionKey == .string("pk"))
            #expect(table.sortKey == .string("sk"))
            do {
                try await db.createTable(name: "analytics", partitionKey: .string("id"))
                Issue.record("a table of that name with another key must be an error")
            } catch let error as DynamoDBError {
                #expect(error.type == .resourceInUse)
                #expect(error.message.contains("partition key pk (S)"), "\(error)")
            }

            // Conditional puts: new, higher (replaces), lower and equal (refused: false, not an error).
            let window = "2026-11-30T10:00"
            let key: DynamoDBClient.Item = ["pk": .string("orders/\(window)"), "sk": "count"]
            func put(revision: Int, count: Int) async throws -> Bool {
                try await db.putItem(
                    table: "analytics", item: Self.result(window, revision: revision, count: count), condition: Self.condition,
                    values: [":revision": .integer(revision)])
            }
            #expect(try await put(revision: 1, count: 10))
            #expect(try await put(revision: 3, count: 30))
            #expect(
                try await db.getItem(table: "analytics", key: key, consistentRead: true)
                    == Self.result(window, revision: 3, count: 30))
            #expect(try await put(revision: 2, count: 20) == false)
            #expect(try await put(revision: 3, count: 99) == false)
            let stored = try #require(try await db.getItem(table: "analytics", key: key, consistentRead: true))
            #expect(stored == Self.result(window, revision: 3, count: 30), "unchanged by the refused puts")
            #expect(stored["revision"]?.int64Value == 3)
            #expect(try await db.getItem(table: "analytics", key: ["pk": "orders/none", "sk": "count"]) == nil)

            // Every attribute type round-trips; numbers keep their digits.
            let rich: DynamoDBClient.Item = [
                "pk": "types", "sk": "all", "big": .number("123456789012345678901234567890.5"), "negative": -7, "yes": true,
                "nothing": .null, "nested": ["list": [1, "two", false, .null, ["deep": "é ✓"]]], "bytes": .binary([0, 255, 10]),
                "names": .stringSet(["a", "b"]), "numbers": .numberSet(["1", "2.5"]), "blobs": .binarySet([[1], [2, 3]]),
            ]
            #expect(try await db.putItem(table: "analytics", item: rich))
            #expect(try await db.getItem(table: "analytics", key: ["pk": "types", "sk": "all"]) == rich)

            // A query by partition key, in sort key order, with names and values; a limit stops it early.
            for n in [3, 0, 4, 1, 2] {
                try await db.putItem(
                    table: "analytics", item: ["pk": "orders/day", "sk": .string("w\(n)"), "value": .integer(n)])
            }
            let all = try await db.query(
                table: "analytics", keyCondition: "#pk = :pk", names: ["#pk": "pk"], values: [":pk": "orders/day"])
            #expect(all.map { $0["sk"]?.stringValue } == ["w0", "w1", "w2", "w3", "w4"])
            #expect(all.first?["value"] == 0)
            let first = try await db.query(
                table: "analytics", keyCondition: "pk = :pk AND sk > :after", values: [":pk": "orders/day", ":after": "w1"],
                limit: 2)
            #expect(first.map { $0["sk"]?.stringValue } == ["w2", "w3"])
            #expect(try await db.query(table: "analytics", keyCondition: "pk = :pk", values: [":pk": "orders/none"]).isEmpty)

            // An unknown table: ResourceNotFoundException, for a put (not a false) as for a get.
            for operation in ["PutItem", "GetItem"] {
                do {
                    if operation == "PutItem" {
                        _ = try await db.putItem(
                            table: "nope", item: ["pk": "x"], condition: Self.condition, values: [":revision": 1])
                    } else {
                        _ = try await db.getItem(table: "nope", key: ["pk": "x"])
                    }
                    Issue.record("\(operation) on an unknown table must fail")
                } catch let error as DynamoDBError {
                    #expect(error.type == .resourceNotFound, "\(error)")
                    #expect(error.status == 400)
                    #expect(error.operation == operation)
                }
            }
            await #expect(throws: DynamoDBError.self) { try await db.describeTable("nope") }

            // A validation error names its cause.
            do {
                try await db.putItem(table: "analytics", item: ["pk": "no sort key"])
                Issue.record("an item without its sort key must be refused")
            } catch let error as DynamoDBError {
                #expect(error.type == .validation)
                #expect(error.message.contains("sk"), "\(error)")
            }
        }
    }

    @Test func aWrongSecretIsRefusedNamingTheSignature() async throws {
        try await withMoto(checkSignatures: true) { moto in
            let db = try moto.dynamoDB()
            try await db.createTable(name: "analytics", partitionKey: .string("pk"))
            let wrong = try moto.dynamoDB(
                credentials: S3Credentials(accessKeyID: moto.credentials.accessKeyID, secretAccessKey: "not-the-secret"))
            do {
                try await wrong.putItem(table: "analytics", item: ["pk": "forged"])
                Issue.record("a wrong secret must be refused")
            } catch let error as DynamoDBError {
                #expect(error.type == .signatureDoesNotMatch, "\(error)")
                #expect(error.status == 403)
                #expect("\(error)".hasPrefix("DynamoDB PutItem: SignatureDoesNotMatch: The request signature"), "\(error)")
            }
            #expect(try await db.getItem(table: "analytics", key: ["pk": "forged"]) == nil)
            let unknown = try moto.dynamoDB(credentials: S3Credentials(accessKeyID: "AKIANOBODY", secretAccessKey: "x"))
            do {
                _ = try await unknown.getItem(table: "analytics", key: ["pk": "a"])
                Issue.record("an unknown key must be refused")
            } catch let error as DynamoDBError {
                // moto's name for it; AWS says UnrecognizedClientException.
                #expect(error.type == "InvalidClientTokenId", "\(error)")
                #expect(error.status == 403)
            }
        }
    }

    /// Answers from a script, in order (the last one again when it runs out), recording each request's target.
    final class Script: Sendable {
        let answers: Mutex<[(HTTPResponse.Status, String)]>
        let targets = Mutex<[String]>([])
        let authorizations = Mutex<[String]>([])

        init(_ answers: [(HTTPResponse.Status, String)]) { self.answers = Mutex(answers) }

        func next(target: String, authorization: String) -> (HTTPResponse.Status, String) {
            targets.withLock { $0.append(target) }
            authorizations.withLock { $0.append(authorization) }
            return answers.withLock { $0.count > 1 ? $0.removeFirst() : $0[0] }
        }
    }

    func withScript(
        _ answers: [(HTTPResponse.Status, String)], _ body: @escaping @Sendable (DynamoDBClient, Script) async throws -> Void
    ) async throws {
        let script = Script(answers)
        let router = Router()
        router.post("/") { request, _ -> Response in
            let (status, text) = script.next(
                target: request.headers[HTTPField.Name("x-amz-target")!] ?? "",
                authorization: request.headers[.authorization] ?? "")
            return Response(
                status: status, headers: [.contentType: "application/x-amz-json-1.0"],
                body: ResponseBody(byteBuffer: ByteBuffer(string: text)))
        }
        try await Application(router: router).test(.live) { client in
            var configuration = DynamoDBClient.Configuration(
                region: "eu-west-1", endpoint: "http://127.0.0.1:\(try #require(client.port))")
            configuration.retryDelay = .milliseconds(1)
            let db = try DynamoDBClient(
                configuration: configuration, credentials: S3Credentials(accessKeyID: "AKIDEXAMPLE", secretAccessKey: "secret"))
            try await body(db, script)
        }
    }

    static func awsError(_ type: String, _ message: String = "") -> String {
        #"{"__type": "com.amazonaws.dynamodb.v20120810#\#(type)", "message": "\#(message)"}"#
    }

    @Test func throttlingIsRetriedAndValidationIsNot() async throws {
        let throttled = Self.awsError("ProvisionedThroughputExceededException", "slow down")
        try await withScript([(.badRequest, throttled), (.badRequest, Self.awsError("ThrottlingException")), (.ok, "{}")]) {
            db, script in
            #expect(try await db.putItem(table: "t", item: ["pk": "a"]))
            #expect(script.targets.withLock { $0 } == Array(repeating: "DynamoDB_20120810.PutItem", count: 3))
            let authorization = try #require(script.authorizations.withLock { $0.first })
            #expect(authorization.hasPrefix("AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/"))
            #expect(authorization.contains("/eu-west-1/dynamodb/aws4_request"))
            #expect(authorization.contains("SignedHeaders=content-type;host;x-amz-date;x-amz-target"))
        }
        // Throttled every time: the last error after maxAttempts tries.
        try await withScript([(.badRequest, throttled)]) { db, script in
            do {
                _ = try await db.getItem(table: "t", key: ["pk": "a"])
                Issue.record("throttled every time must fail")
            } catch let error as DynamoDBError {
                #expect(error.type == .provisionedThroughputExceeded)
                #expect(error.message == "slow down")
            }
            #expect(script.targets.withLock { $0.count } == 4)
        }
        // 5xx, even with a body that is neither JSON nor XML: retried.
        try await withScript([
            (.badGateway, "upstream went away"), (.internalServerError, Self.awsError("InternalServerError")),
            (.ok, #"{"Item": {"pk": {"S": "a"}}}"#),
        ]) {
            db, script in
            let item = try await db.getItem(table: "t", key: ["pk": "a"])
            #expect(item == ["pk": "a"])
            #expect(script.targets.withLock { $0.count } == 3)
        }
        // A validation error and a failed condition: one try each.
        try await withScript([(.badRequest, Self.awsError("ValidationException", "bad key"))]) { db, script in
            await #expect(throws: DynamoDBError(type: .validation, message: "bad key", status: 400, operation: "PutItem")) {
                try await db.putItem(table: "t", item: ["pk": "a"])
            }
            #expect(script.targets.withLock { $0.count } == 1)
        }
        try await withScript([(.badRequest, Self.awsError("ConditionalCheckFailedException", "The conditional request failed"))])
        {
            db, script in
            let written = try await db.putItem(table: "t", item: ["pk": "a"], condition: "attribute_not_exists(pk)")
            #expect(!written)
            #expect(script.targets.withLock { $0.count } == 1)
        }
    }

    @Test func nothingListensIsUnreachableAfterRetries() async throws {
        var configuration = DynamoDBClient.Configuration(endpoint: "http://127.0.0.1:\(try freePort())")
        configuration.retryDelay = .milliseconds(1)
        configuration.maxAttempts = 2
        // async-http-client tries a refused connection again until the request's deadline.
        configuration.requestTimeout = .milliseconds(500)
        let db = try DynamoDBClient(
            configuration: configuration, credentials: S3Credentials(accessKeyID: "a", secretAccessKey: "b"))
        do {
            _ = try await db.describeTable("t")
            Issue.record("nothing listens")
        } catch let error as DynamoDBError {
            #expect(error.type == .unreachable)
            #expect(error.status == nil)
        }
        #expect(throws: DynamoDBError.self) {
            try DynamoDBClient(
                configuration: .init(endpoint: "dynamodb"), credentials: .init(accessKeyID: "a", secretAccessKey: "b"))
        }
    }

    @Test func errorsFromJSONXMLAndPlainAnswers() {
        let xml = DynamoDBError(
            operation: "PutItem", status: .forbidden, headers: [:],
            body: ByteBuffer(
                string:
                    #"<?xml version="1.0" encoding="utf-8"?><ErrorResponse><Errors><Error><Code>SignatureDoesNotMatch</Code><Message>The request signature we calculated does not match</Message><Type>Sender</Type></Error></Errors></ErrorResponse>"#
            ))
        #expect(
            xml
                == DynamoDBError(
                    type: .signatureDoesNotMatch, message: "The request signature we calculated does not match", status: 403,
                    operation: "PutItem"))
        #expect(!xml.isRetryable)
        let json = DynamoDBError(
            operation: "Query", status: .badRequest, headers: [:],
            body: ByteBuffer(
                string:
                    #"{"__type":"com.amazon.coral.service#UnrecognizedClientException","Message":"The security token included in the request is invalid."}"#
            ))
        #expect(json.type == .unrecognizedClient)
        #expect(json.message == "The security token included in the request is invalid.")
        let header = DynamoDBError(
            operation: "Query", status: .badRequest,
            headers: ["X-Amzn-ErrorType": "ThrottlingException:http://internal.amazon.com/"],
            body: ByteBuffer(string: "<html>busy</html"))
        #expect(header.type == .throttling)
        #expect(header.isRetryable)
        let plain = DynamoDBError(operation: "Query", status: .serviceUnavailable, headers: [:], body: ByteBuffer())
        #expect("\(plain)" == "DynamoDB Query: HTTP 503: Service Unavailable (HTTP 503)")
        #expect(plain.isRetryable)
    }

    @Test func attributeValuesInDynamoDBJSON() throws {
        let item: DynamoDBClient.Item = [
            "s": "text", "n": 42, "b": .binary([1, 2, 3]), "t": true, "z": .null, "m": ["k": .number("1.50")], "l": [1, "x"],
            "ss": .stringSet(["a"]), "ns": .numberSet(["1"]), "bs": .binarySet([[255]]),
        ]
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        let text = String(decoding: try encoder.encode(item), as: UTF8.self)
        #expect(
            text
                == #"{"b":{"B":"AQID"},"bs":{"BS":["/w=="]},"l":{"L":[{"N":"1"},{"S":"x"}]},"m":{"M":{"k":{"N":"1.50"}}},"n":{"N":"42"},"ns":{"NS":["1"]},"s":{"S":"text"},"ss":{"SS":["a"]},"t":{"BOOL":true},"z":{"NULL":true}}"#
        )
        #expect(try JSONDecoder().decode(DynamoDBClient.Item.self, from: Data(text.utf8)) == item)
        #expect(throws: DecodingError.self) {
            try JSONDecoder().decode(AttributeValue.self, from: Data(#"{"S":"a","N":"1"}"#.utf8))
        }
        #expect(throws: DecodingError.self) { try JSONDecoder().decode(AttributeValue.self, from: Data(#"{"X":"a"}"#.utf8)) }
        #expect(AttributeValue.integer(Int64.max).int64Value == .max)
    }

    @Test func backoffDoublesWithJitterUpToTwoSeconds() {
        for attempt in 1...6 {
            let full = Duration.milliseconds(50) * (1 << (attempt - 1))
            let delay = DynamoDBClient.backoff(attempt: attempt, first: .milliseconds(50))
            #expect(delay >= full / 2 && delay <= full, "attempt \(attempt): \(delay)")
        }
        #expect(DynamoDBClient.backoff(attempt: 40, first: .milliseconds(50)) <= .seconds(2))
    }
}
