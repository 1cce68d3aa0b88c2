import ArgumentParser
import Configuration
import Foundation
import Logging
import MeridianApp
import Metrics
import ServiceLifecycle

/// `meridian function images`: the image function outside `serve`, as a serverless function.
struct Function: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Run a Meridian function under a serverless runtime.",
        subcommands: [Images.self])

    struct Images: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "The image function: uploads from storage notifications to variants and product-images events.",
            discussion: """
                --runtime lambda: the AWS Lambda Runtime API loop (AWS_LAMBDA_RUNTIME_API) for S3 ObjectCreated \
                notifications; the topics must exist (MSK: Terraform creates them).
                --runtime http: a CloudEvents endpoint (POST /, binary and structured mode) for Cloud Run / Eventarc \
                (google.cloud.storage.object.v1.finalized), Knative, and S3 notifications through EventBridge; it \
                listens on --port, else $PORT (Cloud Run and Knative set it), else http.port.
                Objects, the event log and the limits come from the usual settings (objects.url, eventLog, \
                kafka.*, images.*).
                """)

        @OptionGroup var common: CommonOptions

        @Option(help: "lambda or http.")
        var runtime: String

        @Option(help: "Port of the http runtime (default $PORT, else http.port).")
        var port: Int?

        func run() async throws {
            guard let runtime = FunctionRuntime(rawValue: runtime) else {
                throw CommandFailure(
                    "--runtime must be one of \(FunctionRuntime.allCases.map(\.rawValue).joined(separator: ", ")), not '\(runtime)'",
                    status: ExitStatus.usage)
            }
            let environment = ProcessInfo.processInfo.environment
            var extra: [String: ConfigValue] = ["roles": .init(.stringArray(["images"]), isSecret: false)]
            if let port = port ?? environment["PORT"].flatMap(Int.init) {
                extra["http.port"] = .init(.int(port), isSecret: false)
            }
            if environment["MERIDIAN_HTTP_HOST"] == nil, environment["PORT"] != nil {
                // Cloud Run and Knative reach the container on all its addresses.
                extra["http.host"] = .init(.string("0.0.0.0"), isSecret: false)
            }
            let settings = try await common.settings(extra: extra, printWarnings: false)
            ProcessWide.bootstrap(settings)
            let logger = Logger(label: "meridian")
            for warning in settings.warnings { logger.warning("\(warning)") }
            do {
                let tracing = try bootstrapTracing(settings, version: MeridianVersion.current, logger: logger)
                var function = try await buildFunction(
                    settings: settings, runtime: runtime, lambdaAPI: environment["AWS_LAMBDA_RUNTIME_API"], logger: logger,
                    registry: ProcessWide.registry, metrics: MetricsSystem.factory,
                    onServerRunning: { port in
                        logger.info("the image function is serving CloudEvents", metadata: startupMetadata(settings, port: port))
                    })
                function.tracing = tracing
                if runtime == .lambda {
                    logger.info(
                        "the image function is waiting for Lambda invocations",
                        metadata: [
                            "objects": .string(settings.objects.location), "event_log": .string(settings.eventLog.rawValue),
                        ])
                }
                try await function.serviceGroup(logger: logger).run()
            } catch {
                throw CommandFailure(startup: error, settings: settings)
            }
            logger.info("meridian stopped")
        }
    }
}
