import AsyncHTTPClient
import Foundation
import HTTPTypes
import Hummingbird
import Logging
import MeridianContracts
import MeridianCore
import MeridianHTTP
import MeridianImages
import Metrics
import NIOCore
import NIOHTTP1
import Prometheus
import ServiceLifecycle
import UnixSignals

/// How `meridian function images` is invoked.
public enum FunctionRuntime: String, Sendable, CaseIterable {
    /// The AWS Lambda Runtime API loop (`AWS_LAMBDA_RUNTIME_API`), for S3 `ObjectCreated` notifications.
    case lambda
    /// A CloudEvents HTTP endpoint (binary and structured mode), for Cloud Run / Eventarc, Knative, and S3
    /// notifications through EventBridge.
    case http
}

/// What one invocation came to: the uploads processed, those rejected, and the notifications' other objects.
public struct FunctionSummary: Codable, Sendable, Hashable {
    public var processed: [String] = []
    public var rejected: [String] = []
    /// Objects the notifications named that are not uploads (other keys, other events).
    public var skipped = 0

    public init() {}
}

/// The image function outside the `images` role: the handler every runtime calls, and the runtime's own service.
public struct FunctionApplication: Sendable {
    public var settings: MeridianSettings
    public var eventLog: EventLogService
    /// The Lambda loop or the HTTP server.
    public var runtime: any Service
    /// The span exporter when `tracing.enabled`: first, so it stops last and flushes.
    public var tracing: (any Service)?

    public var services: [any Service] { (tracing.map { [$0] } ?? []) + [eventLog, runtime] }

    public func serviceGroup(logger: Logger, signals: [UnixSignal] = [.sigterm, .sigint]) -> ServiceGroup {
        var configuration = ServiceGroupConfiguration(
            services: services.map { ServiceGroupConfiguration.ServiceConfiguration(service: $0) },
            gracefulShutdownSignals: signals, logger: logger)
        configuration.maximumGracefulShutdownDuration = settings.shutdownTimeout
        configuration.maximumCancellationDuration = .seconds(5)
        return ServiceGroup(configuration: configuration)
    }
}

/// The image function's handler as the `images` role and both runtimes build it.
func makeImageFunction(
    settings: MeridianSettings, eventLog: any EventLog, objects: any ObjectStore, logger: Logger
) throws -> ImageFunction {
    let processor: ImageProcessor
    do {
        processor = try ImageProcessor(configuration: settings.images.processor, concurrency: 1)
    } catch {
        throw StartupError(.unavailable, "the image function cannot start libvips: \(error)")
    }
    return ImageFunction(objects: objects, eventLog: eventLog, topics: settings.topics, processor: processor, logger: logger)
}

/// Assembles `meridian function images --runtime R`: the event log and object store the settings name, the image
/// function, and the runtime. `lambdaAPI` is `AWS_LAMBDA_RUNTIME_API` (`host:port`), required by the Lambda runtime.
public func buildFunction(
    settings: MeridianSettings, runtime: FunctionRuntime, lambdaAPI: String?, logger: Logger,
    registry: PrometheusCollectorRegistry, metrics: any MetricsFactory,
    onServerRunning: @escaping @Sendable (Int) async -> Void = { _ in }
) async throws -> FunctionApplication {
    if runtime == .lambda, (lambdaAPI ?? "").isEmpty {
        throw StartupError(
            .configuration,
            "the lambda runtime needs AWS_LAMBDA_RUNTIME_API (Lambda sets it; elsewhere use --runtime http)")
    }
    let eventLog = try await buildEventLog(settings: settings, logger: logger, metrics: metrics)
    do {
        let objects: any ObjectStore
        do {
            objects = try settings.objects.makeStore()
        } catch {
            throw StartupError(.cannotCreate, "cannot open the object store: \(error) (objects.url)")
        }
        let function = try makeImageFunction(settings: settings, eventLog: eventLog, objects: objects, logger: logger)
        let handle: @Sendable ([ProductImageUploaded], Int) async throws -> FunctionSummary = { uploads, skipped in
            var summary = FunctionSummary()
            summary.skipped = skipped
            for upload in uploads {
                switch try await function.handle(upload) {
                case .processed: summary.processed.append(upload.uploadID)
                case .rejected: summary.rejected.append(upload.uploadID)
                }
            }
            return summary
        }
        let service: any Service
        switch runtime {
        case .lambda:
            // No topic creation: on MSK the topics are the infrastructure's (Terraform), and the function's role
            // may only write to them.
            service = LambdaRuntimeLoop(api: lambdaAPI ?? "", logger: logger) { body in
                let (uploads, skipped) = try StorageNotifications.s3Notification(body)
                return try JSONEncoder().encode(try await handle(uploads, skipped))
            }
        case .http:
            let router = Router(context: MeridianRequestContext.self)
            if settings.tracing.enabled {
                // A CloudEvent delivered over HTTP (Knative, Eventarc) carries its `traceparent` as a header.
                router.add(middleware: RequestTracingMiddleware())
            }
            router.add(middleware: ProblemMiddleware())
            router.add(middleware: RequestLimitsMiddleware(limits: settings.limits))
            for routes in platformRoutes(eventLog: eventLog, ingestor: nil, registry: registry, metrics: metrics) {
                routes.addRoutes(to: router)
            }
            CloudEventsFunctionRoutes(handle: handle, logger: logger).addRoutes(to: router)
            var http = Application(
                router: router,
                configuration: .init(address: .hostname(settings.host, port: settings.port), serverName: "meridian"),
                onServerRunning: { channel in await onServerRunning(channel.localAddress?.port ?? 0) },
                logger: logger)
            http.beforeServerStarts { await prepareTopics(eventLog, settings: settings, logger: logger) }
            service = http
        }
        return FunctionApplication(settings: settings, eventLog: eventLog, runtime: service)
    } catch {
        if let closable = eventLog as? any ClosableEventLog { await closable.close() }
        throw error
    }
}

/// The AWS Lambda custom runtime loop (the Runtime API, 2018-06-01): take the next invocation, hand its body to
/// `handle`, post what it returns as the response, or the error. Written by hand: the Swift AWS Lambda runtime is not
/// among this project's packages, and the API is three HTTP calls.
///
/// An invocation is finished even when a graceful shutdown comes in the middle; the wait for the next one is not.
/// A failure is reported to Lambda (which retries an asynchronous invocation twice, then sends it to the function's
/// on-failure destination): the image function throws only for what a retry may mend.
public struct LambdaRuntimeLoop: Service {
    let api: String
    let logger: Logger
    let handle: @Sendable ([UInt8]) async throws -> Data

    public init(api: String, logger: Logger, handle: @escaping @Sendable ([UInt8]) async throws -> Data) {
        self.api = api
        self.logger = logger
        self.handle = handle
    }

    public func run() async throws {
        let base = "http://\(api)/2018-06-01/runtime"
        let http = HTTPClient.shared
        while !(Task.isCancelled || Task.isShuttingDownGracefully) {
            let next: HTTPClientResponse
            do {
                next = try await cancelWhenGracefulShutdown {
                    try await http.execute(HTTPClientRequest(url: "\(base)/invocation/next"), timeout: .hours(24))
                }
            } catch  where (Task.isCancelled || Task.isShuttingDownGracefully) {
                return
            }
            let body = try await next.body.collect(upTo: 6 * 1_048_576)
            guard next.status == .ok, let requestID = next.headers.first(name: "Lambda-Runtime-Aws-Request-Id") else {
                throw StartupError(.unavailable, "the Lambda Runtime API answered \(next.status) to invocation/next")
            }
            let bytes = Array(body.readableBytesView)
            let (handle, logger) = (self.handle, self.logger)
            // The invocation is finished even if a shutdown begins meanwhile.
            try await uncancelled {
                var request: HTTPClientRequest
                do {
                    let answer = try await handle(bytes)
                    request = HTTPClientRequest(url: "\(base)/invocation/\(requestID)/response")
                    request.body = .bytes(ByteBuffer(bytes: answer))
                } catch {
                    logger.error(
                        "image function invocation failed", metadata: ["request_id": "\(requestID)", "error": "\(error)"])
                    request = HTTPClientRequest(url: "\(base)/invocation/\(requestID)/error")
                    request.headers.add(name: "Lambda-Runtime-Function-Error-Type", value: "Runtime.HandlerError")
                    let report: [String: String] = [
                        "errorMessage": "\(error)", "errorType": error is DecodingError ? "InvalidEvent" : "HandlerError",
                    ]
                    request.body = .bytes(ByteBuffer(bytes: try JSONEncoder().encode(report)))
                }
                request.method = .POST
                request.headers.add(name: "Content-Type", value: "application/json")
                let posted = try await http.execute(request, timeout: .seconds(30))
                _ = try await posted.body.collect(upTo: 65_536)
                guard posted.status == .accepted || posted.status == .ok else {
                    logger.warning(
                        "the Lambda Runtime API refused an answer",
                        metadata: ["request_id": "\(requestID)", "status": "\(posted.status.code)"])
                    return
                }
            }
        }
    }
}

/// `POST /`: the image function as a CloudEvents sink. Binary mode (`ce-*` headers, the data as the body) and
/// structured mode (`application/cloudevents+json`) are both taken:
/// - `google.cloud.storage.object.v1.finalized` (Cloud Run through Eventarc): the object's metadata;
/// - `product-images.uploaded` (Knative with a Kafka source): Meridian's own event;
/// - a body that is no CloudEvent: an S3 notification (`{"Records": …}`) or an EventBridge `Object Created` event.
///
/// 200 with the ``FunctionSummary`` (other event types are acknowledged and skipped, so they are not redelivered);
/// 400 for a malformed event, which no retry mends; 503 when the store or the log failed, so the trigger retries.
struct CloudEventsFunctionRoutes: APIRoutes {
    let handle: @Sendable ([ProductImageUploaded], Int) async throws -> FunctionSummary
    let logger: Logger

    static let finalized = "google.cloud.storage.object.v1.finalized"

    func addRoutes(to router: some RouterMethods<MeridianRequestContext>) {
        router.post("/") { request, _ in try await self.receive(request) }
    }

    private static func malformed(_ detail: String) -> ProblemDetails {
        ProblemDetails(.badRequest, slug: "malformed", detail: detail, field: "body")
    }

    func receive(_ request: Request) async throws -> Response {
        let body = Array(try await collectBody(request, limit: 1_048_576).readableBytesView)
        let contentType = request.headers[.contentType]?.lowercased() ?? ""
        let type: String?
        let data: [UInt8]
        if contentType.hasPrefix("application/cloudevents+json") {
            guard let object = try? JSONSerialization.jsonObject(with: Data(body)) as? [String: Any],
                let eventType = object["type"] as? String
            else { throw Self.malformed("a structured CloudEvent needs a JSON object with a type") }
            type = eventType
            if let encoded = object["data_base64"] as? String {
                guard let decoded = Data(base64Encoded: encoded) else { throw Self.malformed("data_base64 is not base64") }
                data = Array(decoded)
            } else if let value = object["data"] {
                guard JSONSerialization.isValidJSONObject(value) else { throw Self.malformed("data is not a JSON object") }
                data = Array(try JSONSerialization.data(withJSONObject: value))
            } else {
                data = []
            }
        } else {
            type = request.headers[HTTPField.Name("ce-type")!]
            data = body
        }
        var uploads: [ProductImageUploaded] = []
        var skipped = 0
        do {
            switch type {
            case Self.finalized?:
                if let upload = try StorageNotifications.upload(fromCloudStorageObject: data) {
                    uploads = [upload]
                } else {
                    skipped = 1
                }
            case ProductImageUploaded.type.rawValue?:
                uploads = [try JSONDecoder().decode(ProductImageUploaded.self, from: Data(data))]
            case nil:
                if let object = try? JSONSerialization.jsonObject(with: Data(data)) as? [String: Any],
                    object["detail-type"] != nil
                {
                    if let upload = try StorageNotifications.upload(fromEventBridge: data) {
                        uploads = [upload]
                    } else {
                        skipped = 1
                    }
                } else {
                    (uploads, skipped) = try StorageNotifications.s3Notification(data)
                }
            case let other?:
                logger.info("event type not handled by the image function: skipped", metadata: ["type": "\(other)"])
                skipped = 1
            }
        } catch is DecodingError {
            throw Self.malformed("the event's data is not what its type says (\(type ?? "no ce-type"))")
        }
        let summary: FunctionSummary
        do {
            summary = try await handle(uploads, skipped)
        } catch {
            logger.error("image function failed", metadata: ["error": "\(error)"])
            throw ProblemDetails(
                .serviceUnavailable, slug: "unavailable", detail: "the object store or the event log failed: retry")
        }
        return jsonResponse(summary)
    }
}
