import AsyncHTTPClient
import Foundation
import HTTPTypes
import Hummingbird
import Logging
import MeridianContracts
import MeridianCore
import MeridianKafka
import MeridianTestSupport
import NIOCore
import NIOHTTP1
import Prometheus
import ServiceLifecycle
import Synchronization
import Testing

@testable import MeridianApp

/// A stand-in for the AWS Lambda Runtime API (2018-06-01) on a free port: invocations queued by the test are handed
/// out by `invocation/next`, and the function's responses and errors are recorded.
final class RuntimeAPI: Sendable {
    struct Answer: Sendable {
        var requestID: String
        var kind: String
        var body: [UInt8]
        var object: [String: Any] { (try? JSONSerialization.jsonObject(with: Data(body)) as? [String: Any]) ?? [:] }
    }

    final class State: Sendable {
        let queue = Mutex<[(String, [UInt8])]>([])
        let answers = Mutex<[Answer]>([])
        let stopping = Mutex(false)
    }

    private let state = State()
    private let group: ServiceGroup
    private let running: Task<Void, any Error>
    let port: Int

    init() async throws {
        let router = Router()
        let state = self.state
        router.get("2018-06-01/runtime/invocation/next") { _, _ -> Response in
            // A long poll, as Lambda's: until an invocation is queued, or the server stops (its graceful shutdown
            // waits for the requests in flight).
            while !state.stopping.withLock({ $0 }) {
                if let (id, body) = state.queue.withLock({ $0.isEmpty ? nil : $0.removeFirst() }) {
                    return Response(
                        status: .ok, headers: [HTTPField.Name("Lambda-Runtime-Aws-Request-Id")!: id],
                        body: ResponseBody(byteBuffer: ByteBuffer(bytes: body)))
                }
                try await Task.sleep(for: .milliseconds(20))
            }
            return Response(status: .serviceUnavailable)
        }
        for kind in ["response", "error"] {
            router.post("2018-06-01/runtime/invocation/:id/\(kind)") { request, context -> Response in
                let body = try await request.body.collect(upTo: 1_048_576)
                let id = context.parameters.get("id") ?? ""
                state.answers.withLock { $0.append(Answer(requestID: id, kind: kind, body: Array(body.readableBytesView))) }
                return Response(status: .accepted)
            }
        }
        let promise = PortPromise()
        let app = Application(
            router: router, configuration: .init(address: .hostname("127.0.0.1", port: 0)),
            onServerRunning: { promise.fulfil($0.localAddress?.port ?? 0) })
        group = ServiceGroup(
            configuration: .init(services: [app], gracefulShutdownSignals: [], logger: Logger(label: "runtime-api")))
        running = Task { [group] in try await group.run() }
        port = await promise.value
    }

    func invoke(_ id: String, _ body: String) {
        state.queue.withLock { $0.append((id, Array(body.utf8))) }
    }

    /// Waits until `count` answers came.
    func answers(count: Int) async throws -> [Answer] {
        let deadline = ContinuousClock.now.advanced(by: .seconds(60))
        while ContinuousClock.now < deadline {
            let now = state.answers.withLock { $0 }
            if now.count >= count { return now }
            try await Task.sleep(for: .milliseconds(50))
        }
        throw ChildProcessError("the function answered \(state.answers.withLock { $0.count }) of \(count) invocations")
    }

    func stop() async {
        state.stopping.withLock { $0 = true }
        await group.triggerGracefulShutdown()
        _ = await running.result
    }
}

/// `meridian function images` as its two runtimes run it: the Lambda loop against a stand-in Runtime API with moto's
/// S3 and the Kafka mock cluster, and the CloudEvents endpoint over real HTTP.
@Suite(.serialized) struct FunctionRuntimeTests {
    func settings(_ environment: [String: String]) async throws -> MeridianSettings {
        try MeridianSettings(reader: try await MeridianSettings.reader(environment: environment), environment: environment)
    }

    func records(_ app: FunctionApplication, topic: String, count: Int) async throws -> [String] {
        let consumer = try await app.eventLog.makeConsumer(
            ConsumerOptions(group: nil, topics: [topic], fromBeginning: true))
        var ids: [String] = []
        let deadline = ContinuousClock.now.advanced(by: .seconds(30))
        while ids.count < count, ContinuousClock.now < deadline {
            ids += try await consumer.poll(maxRecords: 10, timeout: .milliseconds(200)).compactMap { CloudEvent(record: $0)?.id }
        }
        await consumer.close()
        return ids.sorted()
    }

    @Test func theLambdaLoopHandlesS3NotificationsAndReportsErrors() async throws {
        let photo = try #require(ImageFunctionSample.jpeg(width: 900, height: 600), "libvips makes a sample image")
        // moto without signature checking (the S3 adapter's signatures are checked in S3ObjectStoreTests).
        let moto = try await Moto(checkSignatures: false)
        try await moto.createBucket("shop")
        let runtimeAPI = try await RuntimeAPI()
        let cluster = try KafkaMockCluster(brokers: 1)
        let directory = NSTemporaryDirectory() + "meridian-lambda-\(UUID().uuidString)"
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let settings = try await settings([
            "MERIDIAN_DATA_DIR": directory, "MERIDIAN_ROLES": "images", "MERIDIAN_EVENT_LOG": "kafka",
            "MERIDIAN_KAFKA_BROKERS": cluster.bootstrapServers, "MERIDIAN_KAFKA_REPLICATION_FACTOR": "1",
            "MERIDIAN_OBJECTS_URL": "s3://shop?endpoint=\(moto.endpoint)&pathStyle=true&region=us-east-1",
            "AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
        ])
        // The topics are the infrastructure's (Terraform on MSK), not the function's.
        for topic in [settings.topics.productImagesProcessed, settings.topics.deadLetter] {
            try cluster.createTopic(topic, partitions: 1)
        }
        let objects = try settings.objects.makeStore()
        _ = try await objects.put(ObjectKey(rawValue: "uploads/products/p1/u1.jpg")!, contentType: "image/jpeg", bytes: photo)
        _ = try await objects.put(
            ObjectKey(rawValue: "uploads/products/p1/u2.png")!, contentType: "image/png", bytes: Array("no image".utf8))

        let app = try await buildFunction(
            settings: settings, runtime: .lambda, lambdaAPI: "127.0.0.1:\(runtimeAPI.port)", logger: Logger(label: "test"),
            registry: PrometheusCollectorRegistry(), metrics: makeMetricsFactory(registry: PrometheusCollectorRegistry()))
        let group = app.serviceGroup(logger: Logger(label: "test"), signals: [])
        let running = Task { try await group.run() }

        func record(_ key: String, _ event: String = "ObjectCreated:Put") -> String {
            #"{"eventName":"\#(event)","eventTime":"2026-11-30T12:00:00.000Z","s3":{"bucket":{"name":"shop"},"object":{"key":"\#(key)","size":10}}}"#
        }
        runtimeAPI.invoke(
            "r1",
            #"{"Records":[\#(record("uploads/products/p1/u1.jpg")),\#(record("uploads/products/p1/u2.png")),\#(record("datasets/x.csv")),\#(record("uploads/products/p1/u1.jpg", "ObjectRemoved:Delete"))]}"#
        )
        runtimeAPI.invoke("r2", "this is not a notification")
        // The same notification again (S3 delivers at least once): the same keys, the same event ids.
        runtimeAPI.invoke("r3", #"{"Records":[\#(record("uploads/products/p1/u1.jpg"))]}"#)
        let answers = try await runtimeAPI.answers(count: 3)
        #expect(answers.map(\.requestID) == ["r1", "r2", "r3"])
        #expect(answers.map(\.kind) == ["response", "error", "response"])
        #expect(answers[0].object["processed"] as? [String] == ["u1"], "\(answers[0].object)")
        #expect(answers[0].object["rejected"] as? [String] == ["u2"])
        #expect(answers[0].object["skipped"] as? Int == 2)
        #expect(answers[1].object["errorType"] as? String == "InvalidEvent", "\(answers[1].object)")

        for name in ["large/p1/u1_800x800", "medium/p1/u1_400x400", "thumbnail/p1/u1_150x150"] {
            #expect(try await objects.head(ObjectKey(rawValue: "processed/\(name).jpg")!) != nil, "\(name) in the bucket")
        }
        let processed = try await records(app, topic: settings.topics.productImagesProcessed, count: 7)
        #expect(Set(processed) == ["u1:large", "u1:medium", "u1:thumbnail", "u2:rejected"], "\(processed)")
        let dead = try await records(app, topic: settings.topics.deadLetter, count: 1)
        #expect(dead == ["u2:uploaded"])

        await group.triggerGracefulShutdown()
        _ = await running.result
        await runtimeAPI.stop()
        await moto.stop()
    }

    @Test func theCloudEventsEndpointTakesBinaryAndStructuredEvents() async throws {
        let photo = try #require(ImageFunctionSample.jpeg(width: 500, height: 500), "libvips makes a sample image")
        let directory = NSTemporaryDirectory() + "meridian-cloudevents-\(UUID().uuidString)"
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let settings = try await settings([
            "MERIDIAN_DATA_DIR": directory, "MERIDIAN_ROLES": "images", "MERIDIAN_HTTP_PORT": "0",
        ])
        let objects = try settings.objects.makeStore()
        for upload in ["u3", "u4", "u5", "u6"] {
            _ = try await objects.put(
                ObjectKey(rawValue: "uploads/products/p2/\(upload).jpg")!, contentType: "image/jpeg", bytes: photo)
        }
        let port = PortPromise()
        let app = try await buildFunction(
            settings: settings, runtime: .http, lambdaAPI: nil, logger: Logger(label: "test"),
            registry: PrometheusCollectorRegistry(),
            metrics: makeMetricsFactory(registry: PrometheusCollectorRegistry()), onServerRunning: { port.fulfil($0) })
        let group = app.serviceGroup(logger: Logger(label: "test"), signals: [])
        let running = Task { try await group.run() }
        let client = APIClient(port: await port.value)

        let object = #"{"bucket":"shop","name":"uploads/products/p2/u3.jpg","contentType":"image/jpeg","size":"100"}"#
        let binary = try await client.call(
            "POST", "/", body: Data(object.utf8),
            headers: [
                "Content-Type": "application/json", "ce-specversion": "1.0", "ce-id": "1", "ce-source": "//storage",
                "ce-type": "google.cloud.storage.object.v1.finalized",
            ])
        #expect(binary.status == 200, "\(binary)")
        #expect(binary.object["processed"] as? [String] == ["u3"])

        let structured = try await client.call(
            "POST", "/",
            body: Data(
                #"{"specversion":"1.0","id":"2","source":"//storage","type":"google.cloud.storage.object.v1.finalized","data":{"bucket":"shop","name":"uploads/products/p2/u4.jpg","size":"100"}}"#
                    .utf8), headers: ["Content-Type": "application/cloudevents+json; charset=utf-8"])
        #expect(structured.status == 200 && structured.object["processed"] as? [String] == ["u4"], "\(structured)")

        let eventBridge = try await client.call(
            "POST", "/",
            body: Data(
                #"{"detail-type":"Object Created","source":"aws.s3","time":"2026-11-30T12:00:00Z","detail":{"bucket":{"name":"shop"},"object":{"key":"uploads/products/p2/u5.jpg","size":100}}}"#
                    .utf8), headers: ["Content-Type": "application/json"])
        #expect(eventBridge.status == 200 && eventBridge.object["processed"] as? [String] == ["u5"], "\(eventBridge)")

        let notification = try await client.call(
            "POST", "/",
            body: Data(
                #"{"Records":[{"eventName":"ObjectCreated:Put","s3":{"object":{"key":"uploads/products/p2/u6.jpg","size":100}}}]}"#
                    .utf8), headers: ["Content-Type": "application/json"])
        #expect(notification.status == 200 && notification.object["processed"] as? [String] == ["u6"], "\(notification)")

        let other = try await client.call(
            "POST", "/", body: Data("{}".utf8),
            headers: ["Content-Type": "application/json", "ce-type": "com.example.unrelated", "ce-id": "3"])
        #expect(other.status == 200 && other.object["skipped"] as? Int == 1, "\(other)")

        for (body, headers) in [
            ("{", ["Content-Type": "application/cloudevents+json"]),
            ("[1]", ["Content-Type": "application/json", "ce-type": "google.cloud.storage.object.v1.finalized"]),
            ("42", ["Content-Type": "application/json"]),
        ] {
            let answer = try await client.call("POST", "/", body: Data(body.utf8), headers: headers)
            #expect(answer.status == 400, "\(body): \(answer)")
            #expect(answer.headers["content-type"] == "application/problem+json")
        }
        #expect(try await client.call("GET", "/health").status == 200)
        #expect(FileManager.default.fileExists(atPath: "\(directory)/objects/processed/large/p2/u6_800x800.jpg"))

        await group.triggerGracefulShutdown()
        _ = await running.result
    }

    @Test func theLambdaRuntimeNeedsItsAPI() async throws {
        let settings = try await settings(["MERIDIAN_ROLES": "images"])
        do {
            _ = try await buildFunction(
                settings: settings, runtime: .lambda, lambdaAPI: nil, logger: Logger(label: "test"),
                registry: PrometheusCollectorRegistry(),
                metrics: makeMetricsFactory(registry: PrometheusCollectorRegistry()))
            Issue.record("the lambda runtime must need AWS_LAMBDA_RUNTIME_API")
        } catch let error as StartupError {
            #expect(error.kind == .configuration)
            #expect(error.description.contains("AWS_LAMBDA_RUNTIME_API"))
        }
    }
}
