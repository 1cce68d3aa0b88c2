import ArgumentParser
import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1

/// `meridian probe URL`: a health check for containers whose image has no shell and no curl (the Dockerfile's
/// `HEALTHCHECK`, compose's `healthcheck`): exit 0 when the URL answers 2xx within the timeout, else 1 with one line
/// saying why.
struct Probe: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Exit 0 when a URL answers 2xx (a container health check: /health or /ready).")

    @Argument(help: "The URL to ask, such as http://127.0.0.1:8080/ready.")
    var url: String = "http://127.0.0.1:8080/ready"

    @Option(help: "Seconds to wait for the answer (0.1 to 60).")
    var timeout: Double = 2

    func validate() throws {
        guard url.hasPrefix("http://") || url.hasPrefix("https://"), URL(string: url)?.host != nil else {
            throw ValidationError("the URL must be http(s)://HOST[:PORT]/PATH, not '\(url)'")
        }
        guard (0.1...60).contains(timeout) else { throw ValidationError("--timeout must be 0.1...60 seconds") }
    }

    func run() async throws {
        let status: UInt
        do {
            let response = try await HTTPClient.shared.execute(
                HTTPClientRequest(url: url), timeout: .milliseconds(Int64(timeout * 1000)))
            status = response.status.code
        } catch {
            throw CommandFailure("\(url): no answer (\(error))", status: ExitStatus.failure)
        }
        guard (200..<300).contains(status) else {
            throw CommandFailure("\(url): \(status)", status: ExitStatus.failure)
        }
    }
}
