import Foundation
import MeridianTestSupport
import Testing

/// What the Flink twin test needs: the repository, the `meridian` binary, and a Java runtime for PyFlink.
enum FlinkTwin {
    /// The repository root: this file is `Tests/MeridianAnalyticsTests/FlinkTwinTests.swift`.
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().path

    static var binary: String {
        ProcessInfo.processInfo.environment["MERIDIAN_TEST_BINARY"] ?? root + "/.build/debug/meridian"
    }

    /// A `java` in `JAVA_HOME/bin` or on the `PATH`, where PyFlink looks for one.
    static var javaAvailable: Bool {
        let environment = ProcessInfo.processInfo.environment
        var candidates = (environment["PATH"] ?? "").split(separator: ":").map { "\($0)/java" }
        if let home = environment["JAVA_HOME"], !home.isEmpty { candidates.insert(home + "/bin/java", at: 0) }
        return candidates.contains { FileManager.default.isExecutableFile(atPath: $0) }
    }
}

/// The Flink SQL jobs of `deploy/flink` against Meridian's own engine (`meridian analytics replay`): the same
/// deterministic input, the same final result for every window of every job (scripts/flink/twin-test.py). The first
/// run makes the PyFlink environment (scripts/flink/venv.sh: about a minute and 850 MB, then cached).
@Suite struct FlinkTwinTests {
    @Test(
        .enabled(
            if: FlinkTwin.javaAvailable,
            "Java is missing (apt install openjdk-17-jre-headless): the Flink twin test needs it"),
        .timeLimit(.minutes(10)))
    func flinkJobsGiveWhatMeridiansEngineGivesForEveryWindow() async throws {
        let venv = try await ChildProcess.run(FlinkTwin.root + "/scripts/flink/venv.sh", [])
        try #require(venv.status == 0, "scripts/flink/venv.sh failed:\n\(venv.output)")
        // The python's path is the script's last line (what it reports of an install goes before it).
        let python = try #require(venv.output.split(separator: "\n").last.map(String.init))

        let twin = try await ChildProcess.run(
            python, [FlinkTwin.root + "/scripts/flink/twin-test.py", "--meridian", FlinkTwin.binary, "--job", "all"])
        #expect(twin.status == 0, "scripts/flink/twin-test.py failed:\n\(twin.output)")
        #expect(twin.output.contains("twin-test: Meridian and Flink agree"), "\(twin.output)")
    }
}
