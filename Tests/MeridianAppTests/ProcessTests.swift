import Foundation
import MeridianTestSupport
import Synchronization
import Testing

#if canImport(FoundationNetworking)
    import FoundationNetworking
#endif

/// Runs the real `meridian serve`: the crash, start-up and graceful-shutdown guarantees are about processes.
/// It listens on a port the OS picks (read back from its start-up line); `stop()` ends it and removes its log.
final class MeridianProcess: Sendable {
    let child: ChildProcess
    let dataDirectory: String
    private let logPath: String
    private let discoveredPort = Mutex<Int?>(nil)

    static var binary: String {
        ProcessInfo.processInfo.environment["MERIDIAN_TEST_BINARY"]
            ?? packageRoot.appendingPathComponent(".build/debug/meridian").path
    }

    init(dataDirectory: String, arguments: [String] = [], environment: [String: String] = [:]) throws {
        self.dataDirectory = dataDirectory
        logPath = NSTemporaryDirectory() + "meridian-serve-" + UUID().uuidString + ".log"
        var variables = ProcessInfo.processInfo.environment.merging(environment) { _, new in new }
        variables["MERIDIAN_LOG_FORMAT"] = "json"
        // The start-up line, which names the port, is logged at info.
        variables["MERIDIAN_LOG_LEVEL"] = variables["MERIDIAN_LOG_LEVEL"] ?? "info"
        child = try ChildProcess(
            Self.binary, ["serve", "--port", "0", "--data-dir", dataDirectory] + arguments, environment: variables,
            outputPath: logPath)
    }

    var log: String { child.output }

    /// The port from the start-up line (`meridian is serving`), once it was written.
    var port: Int {
        if let port = discoveredPort.withLock({ $0 }) { return port }
        for line in log.split(separator: "\n") where line.contains("meridian is serving") {
            guard let object = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any],
                let port = object["port"] as? Int
            else { continue }
            discoveredPort.withLock { $0 = port }
            return port
        }
        return 0
    }

    /// Waits until the process said it serves and `/health` answers.
    func waitUntilServing() async throws {
        let deadline = ContinuousClock.now.advanced(by: .seconds(30))
        while ContinuousClock.now < deadline {
            let port = self.port
            if port != 0,
                let (_, response) = try? await URLSession.shared.data(from: URL(string: "http://127.0.0.1:\(port)/health")!),
                (response as? HTTPURLResponse)?.statusCode == 200
            {
                return
            }
            guard child.isRunning else { throw TestFailure("meridian exited early:\n\(log)") }
            try await Task.sleep(for: .milliseconds(100))
        }
        throw TestFailure("meridian did not start:\n\(log)")
    }

    /// Posts one event; returns the status and body, or nil when the connection failed.
    func post(id: String) async -> (status: Int, body: String)? {
        var request = URLRequest(url: URL(string: "http://127.0.0.1:\(port)/events")!)
        request.httpMethod = "POST"
        request.setValue("application/json", forHTTPHeaderField: "Content-Type")
        request.httpBody = Data(#"{"id":"\#(id)","type":"crash.test","payload":{"id":"\#(id)"}}"#.utf8)
        request.timeoutInterval = 20
        guard let (data, response) = try? await URLSession.shared.data(for: request) else { return nil }
        return ((response as? HTTPURLResponse)?.statusCode ?? 0, String(decoding: data, as: UTF8.self))
    }

    func waitForExit(timeout: Duration) async -> Bool {
        await child.wait(timeout: timeout) != nil
    }

    /// Stops the process (SIGTERM, then SIGKILL) and removes its log; returns the exit status.
    @discardableResult
    func stop() async -> Int32 {
        let status = await child.stop()
        try? FileManager.default.removeItem(atPath: logPath)
        return status
    }
}

/// The processes a test started, stopped together however the test ends.
final class StartedProcesses: Sendable {
    private let processes = Mutex<[MeridianProcess]>([])

    /// Starts `meridian serve` and remembers it.
    func start(dataDirectory: String, arguments: [String] = [], environment: [String: String] = [:]) throws
        -> MeridianProcess
    {
        let process = try MeridianProcess(dataDirectory: dataDirectory, arguments: arguments, environment: environment)
        processes.withLock { $0.append(process) }
        return process
    }

    /// Runs `body`, then stops every process it started (newest first), also when it throws.
    static func around<Result>(_ body: (StartedProcesses) async throws -> Result) async throws -> Result {
        let started = StartedProcesses()
        do {
            let result = try await body(started)
            await started.stopAll()
            return result
        } catch {
            await started.stopAll()
            throw error
        }
    }

    func stopAll() async {
        for process in processes.withLock({ $0 }).reversed() { await process.stop() }
    }
}

struct TestFailure: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

/// Ids of the events in the embedded log, read back with `meridian log read`.
func storedIDs(dataDirectory: String) async throws -> Set<String> {
    let (_, output) = try await runMeridian(["log", "read", "--topic", "events", "--data-dir", dataDirectory])
    var ids: Set<String> = []
    for line in output.split(separator: "\n") {
        guard let object = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any],
            let headers = object["headers"] as? [String: String], let id = headers["ce_id"]
        else { continue }
        ids.insert(id)
    }
    return ids
}

/// Runs `meridian ARGUMENTS` to the end; returns its exit status and what it printed (standard output and error).
func runMeridian(_ arguments: [String], environment: [String: String] = [:], input: String? = nil) async throws -> (
    status: Int32, output: String
) {
    try await ChildProcess.run(
        MeridianProcess.binary, arguments,
        environment: ProcessInfo.processInfo.environment.merging(environment) { _, new in new },
        input: input.map { Data($0.utf8) })
}

@Suite(.serialized) struct ProcessTests {
    @Test func migrateAppliesPendingMigrationsOnce() async throws {
        let directory = NSTemporaryDirectory() + "meridian-migrate-" + UUID().uuidString
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let first = try await runMeridian(["migrate", "--data-dir", directory])
        #expect(first.status == 0)
        #expect(first.output.contains("applied outbox 1") && first.output.contains("applied inbox 1"))
        #expect(first.output.contains("applied users 1"))
        let second = try await runMeridian(["migrate", "--data-dir", directory])
        #expect(second.status == 0)
        #expect(second.output.contains("nothing to apply"))
        #expect(try await runMeridian(["migrate", "--storage-url", "mysql://nope"]).status == 64)
    }

    /// `meridian probe`, the image's health check: 0 for a server that answers, 1 naming the cause otherwise.
    @Test func probeSaysWhetherAServerAnswers() async throws {
        let directory = dataDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        try await StartedProcesses.around { started in
            let server = try started.start(dataDirectory: directory)
            try await server.waitUntilServing()
            let ready = try await runMeridian(["probe", "http://127.0.0.1:\(server.port)/ready"])
            #expect(ready.status == 0, "\(ready.output)")
            let missing = try await runMeridian(["probe", "http://127.0.0.1:\(server.port)/no-such-path"])
            #expect(missing.status == 1 && missing.output.contains("404"), "\(missing.output)")
        }
        let nobody = try await runMeridian(["probe", "http://127.0.0.1:\(try freePort())/health", "--timeout", "1"])
        #expect(nobody.status == 1 && nobody.output.contains("no answer"), "\(nobody.output)")
        #expect(try await runMeridian(["probe", "ftp://example.com"]).status == 64)
    }

    func dataDirectory() -> String {
        NSTemporaryDirectory() + "meridian-process-" + UUID().uuidString
    }

    @Test func everyAcknowledgedEventSurvivesKillNine() async throws {
        let directory = dataDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let server = try MeridianProcess(dataDirectory: directory)
        try await server.waitUntilServing()

        let acknowledged = await withTaskGroup(of: [String].self) { group in
            for worker in 0..<16 {
                group.addTask {
                    var ids: [String] = []
                    for n in 0..<10_000 {
                        let id = "c\(worker)-\(n)"
                        guard let answer = await server.post(id: id) else { break }
                        if answer.status == 202 { ids.append(id) }
                    }
                    return ids
                }
            }
            group.addTask {
                try? await Task.sleep(for: .seconds(2))
                server.child.signal(SIGKILL)
                return []
            }
            return await group.reduce(into: Set<String>()) { $0.formUnion($1) }
        }
        #expect(await server.waitForExit(timeout: .seconds(10)))
        #expect(server.child.exitStatus == 128 + SIGKILL)
        await server.stop()
        #expect(acknowledged.count > 50, "the server acknowledged events before it was killed")

        let stored = try await storedIDs(dataDirectory: directory)
        let missing = acknowledged.subtracting(stored)
        #expect(missing.isEmpty, "\(missing.count) acknowledged events were lost, for example \(missing.prefix(5))")

        // The restarted server serves again on the same data.
        let restarted = try MeridianProcess(dataDirectory: directory)
        try await restarted.waitUntilServing()
        #expect(await restarted.post(id: "after-restart")?.status == 202)
        restarted.child.signal(SIGTERM)
        #expect(await restarted.waitForExit(timeout: .seconds(30)))
        await restarted.stop()
        #expect(try await storedIDs(dataDirectory: directory).contains("after-restart"))
    }

    @Test func sigtermDrainsInflightEventsAndExitsZero() async throws {
        let directory = dataDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let server = try MeridianProcess(dataDirectory: directory, arguments: ["--shutdown-timeout", "20"])
        try await server.waitUntilServing()

        let answers = await withTaskGroup(of: [(String, Int?)].self) { group in
            for worker in 0..<8 {
                group.addTask {
                    var answers: [(String, Int?)] = []
                    for n in 0..<100_000 {
                        let id = "g\(worker)-\(n)"
                        let answer = await server.post(id: id)
                        answers.append((id, answer?.status))
                        if answer == nil || answer?.status == 503 { break }
                    }
                    return answers
                }
            }
            group.addTask {
                try? await Task.sleep(for: .seconds(1.5))
                server.child.signal(SIGTERM)
                return []
            }
            return await group.reduce(into: [(String, Int?)]()) { $0 += $1 }
        }
        #expect(await server.waitForExit(timeout: .seconds(30)))
        #expect(server.child.exitStatus == 0, "exit status 0 after a graceful shutdown:\n\(server.log.suffix(2000))")
        let acknowledged = Set(answers.filter { $0.1 == 202 }.map(\.0))
        #expect(acknowledged.count > 10)
        #expect(answers.allSatisfy { $0.1 == nil || $0.1 == 202 || $0.1 == 503 }, "only 202, 503 or a closed connection")
        let stored = try await storedIDs(dataDirectory: directory)
        #expect(acknowledged.subtracting(stored).isEmpty, "no acknowledged event is lost on SIGTERM")
        #expect(server.log.contains("drained"))
        await server.stop()
    }
}
