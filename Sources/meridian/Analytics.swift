import ArgumentParser
import Foundation
import MeridianAnalytics

/// `meridian analytics`: the streaming analytics jobs.
struct Analytics: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Streaming analytics: event-time windows over the event log.", subcommands: [Replay.self])

    struct Replay: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Run a job over a file of CloudEvents with the engine the analytics role uses.",
            discussion: """
                The input has one structured CloudEvent per line; the job counts the events of its type as one \
                partition, the watermark advancing after every event, and the end of the input closes every window. \
                Every emitted result (each revision) is one analytics.window data object per line of the output. \
                Jobs: \(AnalyticsJob.all.map(\.name).joined(separator: ", ")).
                """)

        @Option(help: "The job.")
        var job: String

        @Option(help: "The CloudEvents, one per line (- for standard input).")
        var input: String

        @Option(help: "Where the results go, one per line (- for standard output).")
        var output: String = "-"

        @Option(help: "Window size in seconds (default 60).")
        var windowSeconds = 60

        @Option(help: "Allowed out-of-orderness in seconds (default 5).")
        var outOfOrdernessSeconds = 5

        @Option(help: "Allowed lateness in seconds (default 60).")
        var latenessSeconds = 60

        func run() async throws {
            guard let job = AnalyticsJob.named(job) else {
                throw CommandFailure(
                    "--job must be one of \(AnalyticsJob.all.map(\.name).joined(separator: ", ")), not '\(job)'",
                    status: ExitStatus.usage)
            }
            guard (1...86_400).contains(windowSeconds), (0...86_400).contains(outOfOrdernessSeconds),
                (0...86_400).contains(latenessSeconds)
            else {
                throw CommandFailure(
                    "--window-seconds is 1...86400, --out-of-orderness-seconds and --lateness-seconds 0...86400",
                    status: ExitStatus.usage)
            }
            guard let reader = input == "-" ? FileHandle.standardInput : FileHandle(forReadingAtPath: input) else {
                throw CommandFailure("cannot read \(input) (--input)", status: ExitStatus.noInput)
            }
            let writer: FileHandle
            if output == "-" {
                writer = FileHandle.standardOutput
            } else {
                guard FileManager.default.createFile(atPath: output, contents: nil),
                    let handle = FileHandle(forWritingAtPath: output)
                else { throw CommandFailure("cannot write \(output) (--output)", status: ExitStatus.cannotCreate) }
                writer = handle
            }
            var configuration = WindowEngine<Aggregate>.Configuration()
            configuration.size = Int64(windowSeconds) * 1000
            configuration.outOfOrderness = Int64(outOfOrdernessSeconds) * 1000
            configuration.allowedLateness = Int64(latenessSeconds) * 1000
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
            let summary = try AnalyticsReplay.run(job: job, configuration: configuration, lines: LineReader(reader)) { result in
                writer.write(try encoder.encode(result) + Data("\n".utf8))
            }
            if output != "-" { try writer.close() }
            FileHandle.standardError.write(
                Data(
                    "replay \(job.name): \(summary.events) events, \(summary.results) results, \(summary.late) too late, \(summary.skipped) lines skipped\n"
                        .utf8))
        }
    }
}
