import Foundation
import Histogram
import NIOCore
import NIOHTTP1
import NIOPosix

/// A closed-loop HTTP/1.1 load generator: `connections` keep-alive connections, each sending its
/// next request when the previous answer arrived, for a bounded duration.
///
/// Written on SwiftNIO directly so that the client costs little CPU next to the server it measures.
public struct LoadGenerator: Sendable {
    /// One request the generator repeats.
    public struct RequestTemplate: Sendable {
        public var method: String
        public var path: String
        public var contentType: String?
        /// Bodies are used in turn, so events can differ from one request to the next.
        public var bodies: [[UInt8]]

        public init(method: String, path: String, contentType: String? = nil, bodies: [[UInt8]] = []) {
            self.method = method
            self.path = path
            self.contentType = contentType
            self.bodies = bodies
        }
    }

    /// What a run measured.
    public struct Result: Sendable {
        public var requests: Int
        public var errors: Int
        public var statuses: [Int: Int]
        public var seconds: Double
        public var latency: Histogram<UInt64>

        public var requestsPerSecond: Double { seconds > 0 ? Double(requests) / seconds : 0 }

        /// A phase that did not run.
        public static var empty: Result {
            Result(requests: 0, errors: 0, statuses: [:], seconds: 0, latency: Histogram(highestTrackableValue: 60_000_000))
        }

        /// A latency percentile in milliseconds.
        public func latencyMilliseconds(_ percentile: Double) -> Double {
            Double(latency.valueAtPercentile(percentile)) / 1000
        }
    }

    public var host: String
    public var port: Int
    public var connections: Int
    public var duration: Duration

    public init(host: String, port: Int, connections: Int, duration: Duration) {
        self.host = host
        self.port = port
        self.connections = connections
        self.duration = duration
    }

    /// Runs the load and returns the merged measurements.
    public func run(_ template: RequestTemplate, group: any EventLoopGroup) async throws -> Result {
        let deadline = NIODeadline.now() + .nanoseconds(duration.components.seconds * 1_000_000_000)
        let start = NIODeadline.now()
        var handlers: [ConnectionHandler] = []
        var futures: [EventLoopFuture<Void>] = []
        for index in 0..<connections {
            let promise = group.next().makePromise(of: Void.self)
            let handler = ConnectionHandler(
                template: template, host: host, offset: index, deadline: deadline, done: promise)
            handlers.append(handler)
            futures.append(promise.futureResult)
            let bootstrap = ClientBootstrap(group: promise.futureResult.eventLoop)
                .channelOption(.socketOption(.so_reuseaddr), value: 1)
                .channelOption(.tcpOption(.tcp_nodelay), value: 1)
                .channelInitializer { channel in
                    channel.eventLoop.makeCompletedFuture {
                        try channel.pipeline.syncOperations.addHTTPClientHandlers()
                        try channel.pipeline.syncOperations.addHandler(handler)
                    }
                }
            bootstrap.connect(host: host, port: port).whenFailure { error in promise.fail(error) }
        }
        var failures = 0
        for future in futures {
            do { try await future.get() } catch { failures += 1 }
        }
        let seconds = Double((NIODeadline.now() - start).nanoseconds) / 1_000_000_000
        var latency = Histogram<UInt64>(highestTrackableValue: 60_000_000, numberOfSignificantValueDigits: .three)
        var requests = 0
        var errors = failures
        var statuses: [Int: Int] = [:]
        for handler in handlers {
            let stats = try await handler.eventLoop!.submit { handler.snapshot() }.get()
            latency.add(stats.latency)
            requests += stats.requests
            errors += stats.errors
            statuses.merge(stats.statuses, uniquingKeysWith: +)
        }
        return Result(requests: requests, errors: errors, statuses: statuses, seconds: seconds, latency: latency)
    }
}

/// Drives one keep-alive connection; runs on its channel's event loop only.
final class ConnectionHandler: ChannelInboundHandler, @unchecked Sendable {
    typealias InboundIn = HTTPClientResponsePart
    typealias OutboundOut = HTTPClientRequestPart

    struct Stats {
        var requests = 0
        var errors = 0
        var statuses: [Int: Int] = [:]
        var latency = Histogram<UInt64>(highestTrackableValue: 60_000_000, numberOfSignificantValueDigits: .three)
    }

    private let template: LoadGenerator.RequestTemplate
    private let host: String
    private let deadline: NIODeadline
    private let done: EventLoopPromise<Void>
    private var stats = Stats()
    private var sentAt = NIODeadline.now()
    private var next: Int
    private var finished = false
    private var bodies: [ByteBuffer] = []
    private(set) var eventLoop: (any EventLoop)?

    init(template: LoadGenerator.RequestTemplate, host: String, offset: Int, deadline: NIODeadline, done: EventLoopPromise<Void>)
    {
        self.template = template
        self.host = host
        self.next = offset
        self.deadline = deadline
        self.done = done
        self.eventLoop = done.futureResult.eventLoop
    }

    func snapshot() -> Stats { stats }

    func channelActive(context: ChannelHandlerContext) {
        bodies = template.bodies.map { context.channel.allocator.buffer(bytes: $0) }
        send(context: context)
    }

    private func send(context: ChannelHandlerContext) {
        var head = HTTPRequestHead(version: .http1_1, method: HTTPMethod(rawValue: template.method), uri: template.path)
        head.headers.add(name: "Host", value: host)
        var body: ByteBuffer?
        if !bodies.isEmpty {
            body = bodies[next % bodies.count]
            next &+= 1
            head.headers.add(name: "Content-Length", value: String(body!.readableBytes))
            if let contentType = template.contentType { head.headers.add(name: "Content-Type", value: contentType) }
        }
        sentAt = .now()
        context.write(wrapOutboundOut(.head(head)), promise: nil)
        if let body { context.write(wrapOutboundOut(.body(.byteBuffer(body))), promise: nil) }
        context.writeAndFlush(wrapOutboundOut(.end(nil)), promise: nil)
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let head):
            stats.statuses[Int(head.status.code), default: 0] += 1
            if head.status.code >= 400 { stats.errors += 1 }
        case .body:
            break
        case .end:
            let now = NIODeadline.now()
            stats.requests += 1
            _ = stats.latency.record(UInt64(max(0, (now - sentAt).nanoseconds / 1000)))
            if now < deadline {
                send(context: context)
            } else {
                finish(context: context)
            }
        }
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        stats.errors += 1
        finish(context: context)
    }

    func channelInactive(context: ChannelHandlerContext) {
        if !finished {
            finished = true
            done.succeed(())
        }
    }

    private func finish(context: ChannelHandlerContext) {
        guard !finished else { return }
        finished = true
        context.close(promise: nil)
        done.succeed(())
    }
}
