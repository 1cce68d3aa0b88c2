import Foundation
import Hummingbird
import HummingbirdTesting
import NIOPosix
import Synchronization
import Testing

@testable import MeridianBench

/// The load generator against a real HTTP server: it counts what the server answered, and nothing else.
@Suite struct LoadGeneratorTests {
    @Test func everyRequestIsCountedWithItsStatusAndLatency() async throws {
        let served = Atomic<Int>(0)
        let router = Router()
        router.post("things") { request, _ -> HTTPResponse.Status in
            let body = try await request.body.collect(upTo: 1024)
            served.add(1, ordering: .relaxed)
            return body.readableBytes == 3 ? .accepted : .badRequest
        }
        router.get("missing") { _, _ -> HTTPResponse.Status in .notFound }
        try await Application(router: router).test(.live) { client in
            let port = try #require(client.port)
            let generator = LoadGenerator(host: "127.0.0.1", port: port, connections: 4, duration: .seconds(1))
            let result = try await generator.run(
                .init(method: "POST", path: "/things", contentType: "application/json", bodies: [Array("{1}".utf8)]),
                group: MultiThreadedEventLoopGroup.singleton)
            // Counted at all: on a machine busy with other tests, a second may see only a few.
            #expect(result.requests > 0)
            #expect(result.errors == 0)
            #expect(result.statuses == [202: result.requests], "\(result.statuses)")
            #expect(served.load(ordering: .relaxed) >= result.requests)
            #expect(result.seconds >= 1 && result.seconds < 5)
            #expect(result.latencyMilliseconds(50) <= result.latencyMilliseconds(99))
            #expect(result.requestsPerSecond > 0)
            let missing = try await LoadGenerator(host: "127.0.0.1", port: port, connections: 1, duration: .seconds(1))
                .run(.init(method: "GET", path: "/missing"), group: MultiThreadedEventLoopGroup.singleton)
            #expect(missing.statuses.keys.sorted() == [404])
        }
    }
}
