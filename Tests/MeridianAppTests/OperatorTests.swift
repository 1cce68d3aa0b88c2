import Foundation
import MeridianCore
import MeridianKafka
import MeridianTestSupport
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// What an operator meets running the real binary: typos in settings, a busy port, a locked or missing data
/// dir, an unreachable database or broker. Each is one line naming the cause and the setting, a non-zero exit
/// (64 for a configuration mistake), and nothing left open or crashed.
@Suite(.serialized) struct OperatorTests {
    func temporaryDirectory(_ name: String) -> String {
        NSTemporaryDirectory() + "meridian-\(name)-" + UUID().uuidString
    }

    /// One line on standard error, no crash report.
    func expectOneLine(_ output: String, contains parts: [String], _ comment: String = "") {
        let lines = output.split(separator: "\n").filter { !$0.isEmpty }
        #expect(lines.count == 1, "\(comment): expected one line, got:\n\(output.prefix(3000))")
        for part in parts { #expect(output.contains(part), "\(comment): '\(part)' missing in:\n\(output.prefix(3000))") }
        #expect(!output.contains("Assertion") && !output.contains("Backtrac") && !output.contains("Fatal error"))
    }

    @Test(
        arguments: [
            (["MERIDIAN_HTTP_PORT": "abc"], [String](), "http.port", "environment variable MERIDIAN_HTTP_PORT"),
            (["MERIDIAN_GATEWAY_USER_RATE": "fast"], [], "gateway.userRate", "MERIDIAN_GATEWAY_USER_RATE"),
            (["MERIDIAN_LOG_FORMAT": "yaml"], [], "log.format", "json, text"),
            (["MERIDIAN_SHUTDOWN_TIMEOUT_SECONDS": "-3"], [], "shutdown.timeoutSeconds", "0.1...3600"),
            (["MERIDIAN_TOPICS_PARTITIONS": "0"], [], "topics.partitions", "1...1024"),
            (["MERIDIAN_KAFKA_COMPRESSION": "brotli"], [], "kafka.compression", "zstd"),
            (
                ["MERIDIAN_ORDERS_RESERVATION_TTL_SECONDS": "99999999999999999999"], [], "orders.reservationTtlSeconds",
                "not an integer"
            ),
            ([:], ["--log-level", "bogus"], "log.level", "command line"),
            ([:], ["--port", "70000"], "http.port", "command line"),
        ] as [([String: String], [String], String, String)])
    func aBadSettingFromAnyLayerIsRefusedNamingItsKeyAndSource(
        environment: [String: String], arguments: [String], key: String, mention: String
    ) async throws {
        let directory = temporaryDirectory("settings")
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let result = try await runMeridian(["serve", "--data-dir", directory] + arguments, environment: environment)
        #expect(result.status == 64, "\(result.output)")
        expectOneLine(result.output, contains: ["invalid setting \(key)", mention], key)
        #expect(!FileManager.default.fileExists(atPath: directory), "nothing is created before the settings are valid")
    }

    @Test func aBadValueInTheConfigFileNamesTheFileAndTheKey() async throws {
        let directory = temporaryDirectory("config")
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let typed = directory + "/typed.json"
        try Data(#"{"http": {"port": "abc"}}"#.utf8).write(to: URL(fileURLWithPath: typed))
        let wrongType = try await runMeridian(["serve", "--config", typed, "--data-dir", directory + "/d"])
        #expect(wrongType.status == 64)
        expectOneLine(wrongType.output, contains: ["http.port", "config file \(typed)"], "a string for a port")

        let broken = directory + "/broken.json"
        try Data("{\"http\": {\n  \"port\": 80,,\n}}".utf8).write(to: URL(fileURLWithPath: broken))
        let malformed = try await runMeridian(["serve", "--config", broken, "--data-dir", directory + "/d"])
        #expect(malformed.status == 64)
        expectOneLine(malformed.output, contains: ["\(broken):2:14", "not valid JSON"], "malformed JSON")
        #expect(!malformed.output.contains("NSCocoaErrorDomain"))

        let missing = try await runMeridian(["serve", "--config", directory + "/nope.json", "--data-dir", directory + "/d"])
        #expect(missing.status == 64)
        expectOneLine(missing.output, contains: ["nope.json", "cannot be read"], "a missing file")
    }

    @Test func unknownVariablesAndConfigKeysAreNamedInAWarning() async throws {
        let directory = temporaryDirectory("unknown")
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let file = directory + "/config.json"
        try Data(#"{"http": {"prot": 9000}, "storage": {"synchronous": "FULL"}}"#.utf8).write(to: URL(fileURLWithPath: file))
        let result = try await runMeridian(
            ["migrate", "--config", file, "--data-dir", directory + "/d"], environment: ["MERIDIAN_HTTP_PROT": "9000"])
        #expect(result.status == 0, "\(result.output)")
        #expect(result.output.contains("unknown environment variable MERIDIAN_HTTP_PROT"), "\(result.output)")
        #expect(result.output.contains("unknown key http.prot in config file"), "\(result.output)")
        #expect(!result.output.contains("storage.synchronous"), "a key that is read is not named")
    }

    @Test func aBusyPortIsOneLineAndExit69WithNothingOpened() async throws {
        // Something else listens on the port.
        let listener = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(listener) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(listener, $0, length) }
        }
        _ = listen(listener, 1)
        _ = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(listener, $0, &length) }
        }
        let port = Int(UInt16(bigEndian: address.sin_port))
        let directory = temporaryDirectory("busy")
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let result = try await runMeridian(["serve", "--port", String(port), "--data-dir", directory])
        #expect(result.status == 69)
        expectOneLine(result.output, contains: ["cannot listen on 127.0.0.1:\(port)", "http.port"], "busy port")
        #expect(!FileManager.default.fileExists(atPath: directory), "nothing was opened")
    }

    @Test func anUnwritableDataDirAndAnUnreachableDatabaseAreOneLineEach() async throws {
        let unwritable = try await runMeridian(["serve", "--port", "0", "--data-dir", "/proc/meridian-cannot-write-here"])
        #expect(unwritable.status == 73)
        expectOneLine(unwritable.output, contains: ["cannot write the data dir", "--data-dir"], "unwritable data dir")

        let directory = temporaryDirectory("nodb")
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let closedPort = try freePort()
        let unreachable = try await runMeridian(
            ["serve", "--port", "0", "--data-dir", directory],
            environment: ["MERIDIAN_STORAGE_URL": "postgres://meridian:secret@127.0.0.1:\(closedPort)/shop"])
        #expect(unreachable.status == 69)
        expectOneLine(unreachable.output, contains: ["cannot reach PostgreSQL", "storage.url", "refused"], "no database")
        #expect(!unreachable.output.contains("secret"), "the password is not printed")
    }

    @Test func aSecondWriterIsRefusedWhileReadersAndCreateAdminWorkBeside() async throws {
        let directory = temporaryDirectory("lock")
        defer { try? FileManager.default.removeItem(atPath: directory) }
        try await StartedProcesses.around { started in
            let first = try started.start(dataDirectory: directory, environment: ["MERIDIAN_USERS_BCRYPT_COST": "4"])
            try await first.waitUntilServing()
            #expect(await first.post(id: "beside-1")?.status == 202)

            let second = try await runMeridian(["serve", "--port", "0", "--data-dir", directory])
            #expect(second.status == 69)
            expectOneLine(second.output, contains: ["in use by process \(first.child.pid)", "--data-dir"], "second writer")

            let topics = try await runMeridian(["log", "topics", "--data-dir", directory])
            #expect(topics.status == 0 && topics.output.contains("events\tpartitions=6\trecords=1"), "\(topics.output)")
            let read = try await runMeridian(["log", "read", "--topic", "events", "--data-dir", directory])
            #expect(read.status == 0 && read.output.contains("beside-1"), "\(read.output)")
            // Committing a group's offsets writes to the log: refused beside the server, with the reason.
            let group = try await runMeridian(["log", "read", "--topic", "events", "--group", "g", "--data-dir", directory])
            #expect(group.status == 69)
            #expect(group.output.contains("in use by process"), "\(group.output)")
            let admin = try await runMeridian(
                ["users", "create-admin", "--email", "root@example.com", "--data-dir", directory],
                environment: ["MERIDIAN_USERS_BCRYPT_COST": "4"], input: "a long admin password\n")
            #expect(admin.status == 0, "\(admin.output)")
            let login = try await APIClient(port: first.port).login(email: "root@example.com", password: "a long admin password")
            #expect(!login.isEmpty)
        }
    }

    @Test func readOnlyCommandsNeverCreateADataDir() async throws {
        let directory = temporaryDirectory("logcmd")
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let missing = directory + "/never"
        let topicsOfNothing = try await runMeridian(["log", "topics", "--data-dir", missing])
        #expect(topicsOfNothing.status == 66)
        expectOneLine(topicsOfNothing.output, contains: ["no event log at", "--data-dir"], "missing data dir")
        #expect(!FileManager.default.fileExists(atPath: missing), "a read-only command created the data dir")
    }

    @Test func listingAndReadingTheEmbeddedLogNeverCrashes() async throws {
        let directory = temporaryDirectory("topics")
        defer { try? FileManager.default.removeItem(atPath: directory) }
        try await StartedProcesses.around { started in
            let server = try started.start(dataDirectory: directory, arguments: ["--role", "ingestor"])
            try await server.waitUntilServing()
            #expect(await server.post(id: "listed")?.status == 202)
            #expect(await server.stop() == 0)
        }
        // `log topics` closed its connections twice and crashed on exit about one run in two.
        for round in 0..<12 {
            let topics = try await runMeridian(["log", "topics", "--data-dir", directory])
            #expect(topics.status == 0, "round \(round): \(topics.output)")
            #expect(!topics.output.contains("Assertion") && !topics.output.contains("Segmentation"))
        }
        let unknown = try await runMeridian(["log", "read", "--topic", "nope", "--data-dir", directory])
        #expect(unknown.status == 66)
        expectOneLine(unknown.output, contains: ["no topic nope", "events"], "unknown topic")
        // By default reading stops at the end of the topic.
        let start = ContinuousClock.now
        let read = try await runMeridian(["log", "read", "--topic", "events", "--data-dir", directory, "--idle-timeout", "30"])
        #expect(read.status == 0 && read.output.contains("listed"))
        #expect(start.duration(to: .now) < .seconds(20), "stopped at the end, not after the idle timeout")
    }

    @Test func kafkaLogCommandsFailWithANonZeroExit() async throws {
        let cluster = try KafkaMockCluster(brokers: 1)
        try cluster.createTopic("events", partitions: 1, replicationFactor: 1)
        let unknown = try await runMeridian(
            ["log", "read", "--topic", "nope", "--event-log", "kafka", "--kafka-brokers", cluster.bootstrapServers])
        #expect(unknown.status == 66)
        #expect(unknown.output.contains("no topic nope"), "\(unknown.output)")
        let closedPort = try freePort()
        let unreachable = try await runMeridian(
            ["log", "topics", "--event-log", "kafka", "--kafka-brokers", "127.0.0.1:\(closedPort)"])
        #expect(unreachable.status == 69, "\(unreachable.output)")
        #expect(unreachable.output.contains("kafka-brokers"), "\(unreachable.output)")
    }

    @Test func usageErrorsPrintTheSubcommandsUsageAndVersionAndHelpWork() async throws {
        let badPort = try await runMeridian(["serve", "--port", "abc"])
        #expect(badPort.status == 64)
        #expect(badPort.output.contains("meridian serve"), "\(badPort.output)")
        let badLimit = try await runMeridian(["log", "read", "--topic", "events", "--limit", "0"])
        #expect(badLimit.status == 64)
        #expect(badLimit.output.contains("meridian log read"), "\(badLimit.output)")
        let version = try await runMeridian(["--version"])
        #expect(
            version.status == 0 && version.output.trimmingCharacters(in: .whitespacesAndNewlines).split(separator: ".").count == 3
        )
        let help = try await runMeridian([])
        #expect(help.status == 0 && help.output.contains("SUBCOMMANDS"), "\(help.output)")
    }

    @Test func logLinesKeepTheirKeyOrderAndNumbersAndTheStartupLineSaysWhereEverythingIs() async throws {
        let directory = temporaryDirectory("logs")
        defer { try? FileManager.default.removeItem(atPath: directory) }
        try await StartedProcesses.around { started in
            let server = try started.start(dataDirectory: directory)
            try await server.waitUntilServing()
            let metrics = try await APIClient(port: server.port).call("GET", "/metrics")
            let text = String(decoding: metrics.body, as: UTF8.self)
            let types = text.split(separator: "\n").filter { $0.hasPrefix("# TYPE ") }
            #expect(!types.isEmpty)
            for type in types {
                let name = type.split(separator: " ")[2]
                #expect(text.contains("# HELP \(name) "), "no HELP for \(name)")
                #expect(!text.contains("# HELP \(name) \(name.replacingOccurrences(of: "_", with: " "))"), "\(name) is described")
            }
            let lines = server.log.split(separator: "\n")
            for line in lines.prefix(5) {
                let keys = line.split(separator: ",").prefix(4).compactMap { $0.split(separator: ":").first }
                #expect(keys == [#"{"ts""#, #""level""#, #""logger""#, #""msg""#], "\(line)")
            }
            let startup = try #require(lines.first { $0.contains("meridian is serving") })
            let object = try #require(try JSONSerialization.jsonObject(with: Data(startup.utf8)) as? [String: Any])
            #expect(object["port"] as? Int == server.port, "the port is a number")
            #expect(object["host"] as? String == "127.0.0.1")
            #expect((object["roles"] as? String)?.contains("orders") == true)
            #expect(object["event_log"] as? String == "embedded")
            #expect((object["storage"] as? String)?.hasPrefix("sqlite:") == true)
        }
    }

    @Test func anUnreachableBrokerAtStartIsOneWarningNotAFloodOfClientLines() async throws {
        let directory = temporaryDirectory("nobroker")
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let closedPort = try freePort()
        try await StartedProcesses.around { started in
            let server = try started.start(
                dataDirectory: directory,
                environment: ["MERIDIAN_EVENT_LOG": "kafka", "MERIDIAN_KAFKA_BROKERS": "127.0.0.1:\(closedPort)"])
            try await server.waitUntilServing()
            try await Task.sleep(for: .seconds(3))
            let log = server.log
            #expect(log.components(separatedBy: "Kafka brokers unreachable").count == 2, "one warning:\n\(log.suffix(3000))")
            let clientLines = log.split(separator: "\n").filter { $0.contains("librdkafka") }
            #expect(
                clientLines.count <= 6,
                "\(clientLines.count) librdkafka lines:\n\(clientLines.prefix(20).joined(separator: "\n"))")
        }
    }
}
