import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import MeridianCore
import NIOCore
import Testing

@testable import MeridianHTTP

struct DependencyDown: Error, ProblemConvertible {
    var problem: ProblemDetails {
        ProblemDetails(.serviceUnavailable, slug: "service-unavailable", detail: "down", retryAfter: 2)
    }
}

@Suite struct ProblemMiddlewareTests {
    struct Body: Decodable {
        var quantity: Int
    }

    var application: some ApplicationProtocol {
        let router = Router(context: MeridianRequestContext.self)
        router.add(middleware: ProblemMiddleware())
        var limits = RequestLimits()
        limits.jsonBodyBytes = 1024
        limits.uriBytes = 300
        router.add(middleware: RequestLimitsMiddleware(limits: limits))
        router.post("json") { request, context -> Response in
            let body = try await decodeJSONBody(Body.self, from: request, context: context)
            _ = try CheckedMath.within(body.quantity, 1...10, field: "quantity")
            return Response(status: .noContent)
        }
        router.get("down") { _, _ -> Response in throw DependencyDown() }
        router.get("boom") { _, _ -> Response in throw CancellationError() }
        router.get("items/:id") { _, _ in Response(status: .noContent) }
        return Application(router: router)
    }

    func post(_ client: some TestClientProtocol, _ body: String, type: String = "application/json") async throws -> TestResponse {
        try await client.execute(
            uri: "/json", method: .post, headers: [.contentType: type], body: ByteBuffer(string: body))
    }

    func problem(_ response: TestResponse) -> [String: Any] {
        (try? JSONSerialization.jsonObject(with: Data(response.body.readableBytesView)) as? [String: Any]) ?? [:]
    }

    @Test func everyMistakeIsAProblemNamingItsField() async throws {
        try await application.test(.router) { client in
            let outOfRange = try await post(client, #"{"quantity": 11}"#)
            #expect(outOfRange.status == .unprocessableContent && problem(outOfRange)["field"] as? String == "quantity")
            let tooBig = try await post(client, #"{"quantity": 99999999999999999999}"#)
            #expect(tooBig.status == .unprocessableContent && problem(tooBig)["field"] as? String == "quantity")
            let mistyped = try await post(client, #"{"quantity": "one"}"#)
            #expect(mistyped.status == .badRequest && problem(mistyped)["field"] as? String == "quantity")
            #expect(try await post(client, "{").status == .badRequest)
            #expect(try await post(client, #"{"quantity": 1}"#, type: "application/jsonx").status == .unsupportedMediaType)
            #expect(try await post(client, #"{"quantity": 1}"#, type: "application/json; charset=utf-8").status == .noContent)
            let large = try await post(client, #"{"quantity": 1, "pad": ""# + String(repeating: "x", count: 2000) + #""}"#)
            #expect(large.status == .contentTooLarge)
            #expect(large.headers[.contentType] == "application/problem+json")
        }
    }

    @Test func aDependencyThatIsDownIsA503WithRetryAfterAndAnythingElseA500WithoutDetails() async throws {
        try await application.test(.router) { client in
            let down = try await client.execute(uri: "/down", method: .get)
            #expect(down.status == .serviceUnavailable)
            #expect(down.headers[.retryAfter] == "2")
            let boom = try await client.execute(uri: "/boom", method: .get)
            #expect(boom.status == .internalServerError)
            #expect(problem(boom)["detail"] as? String == "an internal error occurred")
        }
    }

    @Test func pathsAndQueriesWithControlCharactersAndLongTargetsAreRefused() async throws {
        try await application.test(.router) { client in
            #expect(try await client.execute(uri: "/items/a%00b", method: .get).status == .badRequest)
            #expect(try await client.execute(uri: "/items/x?q=%1B", method: .get).status == .badRequest)
            #expect(try await client.execute(uri: "/items/x?q=%E2%80%AE", method: .get).status == .badRequest)
            #expect(try await client.execute(uri: "/items/caf%C3%A9", method: .get).status == .noContent)
            let long = try await client.execute(uri: "/items/" + String(repeating: "a", count: 400), method: .get)
            #expect(long.status == .uriTooLong)
        }
    }

    @Test func retryAfterIsBounded() {
        #expect(ProblemDetails.retrySeconds(0.2) == 1)
        #expect(ProblemDetails.retrySeconds(.infinity) == 86_400)
        #expect(ProblemDetails.retrySeconds(.nan) == 86_400)
        #expect(ProblemDetails.retrySeconds(1e300) == 86_400)
    }
}
