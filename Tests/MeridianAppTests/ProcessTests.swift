import Foundation
import Testing

#if canImport(FoundationNetworking)
    import FoundationNetworking
#endif

/// Runs the real `meridian` binary: the crash and graceful-shutdown guarantees are about processes.
struct MeridianProcess {
    let process = Process()
    let port: Int
    let dataDirectory: String
    let output: URL

    static var binary: String {
        ProcessInfo.processInfo.environment["MERIDIAN_BINARY"]
            ?? packageRoot.appendingPathComponent(".build/debug/meridian").path
    }

    init(dataDirectory: String, arguments: [String] = [], environment: [String: String] = [:], port: Int? = nil) throws {
        self.port = port ?? Int.random(in: 20_000...40_000)
        self.dataDirectory = dataDirectory
        output = URL(fileURLWithPath: dataDirectory + "-\(self.port).log")
        _ = FileManager.default.createFile(atPath: output.path, contents: nil)
        process.executableURL = URL(fileURLWithPath: Self.binary)
        process.arguments = ["serve", "--port", String(self.port), "--data-dir", dataDirectory] + arguments
        if !environment.isEmpty {
            process.environment = ProcessInfo.processInfo.environment.merging(environment) { _, new in new }
        }
        let handle = try FileHandle(forWritingTo: output)
        process.standardOutput = handle
        process.standardError = handle
        try process.run()
    }

    var log: String { (try? String(contentsOf: output, encoding: .utf8)) ?? "" }

    /// Waits until `/health` answers.
    func waitUntilServing() async throws {
        let deadline = ContinuousClock.now.advanced(by: .seconds(30))
        while ContinuousClock.now < deadline {
            if let (_, response) = try? await URLSession.shared.data(from: URL(string: "http://127.0.0.1:\(port)/health")!),
                (response as? HTTPURLResponse)?.statusCode == 200
            {
                return
            }
            guard process.isRunning else { throw TestFailure("meridian exited early:\n\(log)") }
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
        let deadline = ContinuousClock.now.advanced(by: timeout)
        while process.isRunning, ContinuousClock.now < deadline { try? await Task.sleep(for: .milliseconds(50)) }
        return !process.isRunning
    }
}

struct TestFailure: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

/// Ids of the events in the embedded log, read back with `meridian log read`.
func storedIDs(dataDirectory: String) throws -> Set<String> {
    let reader = Process()
    reader.executableURL = URL(fileURLWithPath: MeridianProcess.binary)
    reader.arguments = ["log", "read", "--topic", "events", "--data-dir", dataDirectory, "--idle-timeout", "1"]
    let pipe = Pipe()
    reader.standardOutput = pipe
    try reader.run()
    let data = pipe.fileHandleForReading.readDataToEndOfFile()
    reader.waitUntilExit()
    var ids: Set<String> = []
    for line in String(decoding: data, as: UTF8.self).split(separator: "\n") {
        guard let object = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any],
            let headers = object["headers"] as? [String: String], let id = headers["ce_id"]
        else { continue }
        ids.insert(id)
    }
    return ids
}

/// Runs `meridian ARGUMENTS` to the end; returns its exit status and standard output.
func runMeridian(_ arguments: [String]) throws -> (status: Int32, output: String) {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: MeridianProcess.binary)
    process.arguments = arguments
    let pipe = Pipe()
    process.standardOutput = pipe
    process.standardError = FileHandle.nullDevice
    try process.run()
    let data = pipe.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    return (process.terminationStatus, String(decoding: data, as: UTF8.self))
}

@Suite(.serialized) struct ProcessTests {
    @Test func migrateAppliesPendingMigrationsOnce() throws {
        let directory = NSTemporaryDirectory() + "meridian-migrate-" + UUID().uuidString
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let first = try runMeridian(["migrate", "--data-dir", directory])
        #expect(first.status == 0)
        #expect(first.output.contains("applied outbox 1") && first.output.contains("applied inbox 1"))
        #expect(first.output.contains("applied users 1"))
        let second = try runMeridian(["migrate", "--data-dir", directory])
        #expect(second.status == 0)
        #expect(second.output.contains("nothing to apply"))
        #expect(try runMeridian(["migrate", "--storage-url", "mysql://nope"]).status == 64)
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
                kill(server.process.processIdentifier, SIGKILL)
                return []
            }
            return await group.reduce(into: Set<String>()) { $0.formUnion($1) }
        }
        #expect(await server.waitForExit(timeout: .seconds(10)))
        #expect(server.process.terminationReason == .uncaughtSignal)
        #expect(acknowledged.count > 50, "the server acknowledged events before it was killed")

        let stored = try storedIDs(dataDirectory: directory)
        let missing = acknowledged.subtracting(stored)
        #expect(missing.isEmpty, "\(missing.count) acknowledged events were lost, for example \(missing.prefix(5))")

        // The restarted server serves again on the same data.
        let restarted = try MeridianProcess(dataDirectory: directory)
        try await restarted.waitUntilServing()
        #expect(await restarted.post(id: "after-restart")?.status == 202)
        kill(restarted.process.processIdentifier, SIGTERM)
        #expect(await restarted.waitForExit(timeout: .seconds(30)))
        #expect(try storedIDs(dataDirectory: directory).contains("after-restart"))
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
                kill(server.process.processIdentifier, SIGTERM)
                return []
            }
            return await group.reduce(into: [(String, Int?)]()) { $0 += $1 }
        }
        #expect(await server.waitForExit(timeout: .seconds(30)))
        #expect(server.process.terminationReason == .exit)
        #expect(server.process.terminationStatus == 0, "exit status 0 after a graceful shutdown:\n\(server.log.suffix(2000))")
        let acknowledged = Set(answers.filter { $0.1 == 202 }.map(\.0))
        #expect(acknowledged.count > 10)
        #expect(answers.allSatisfy { $0.1 == nil || $0.1 == 202 || $0.1 == 503 }, "only 202, 503 or a closed connection")
        let stored = try storedIDs(dataDirectory: directory)
        #expect(acknowledged.subtracting(stored).isEmpty, "no acknowledged event is lost on SIGTERM")
        #expect(server.log.contains("drained"))
    }
}
