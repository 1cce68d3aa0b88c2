import Foundation
import MeridianAnalytics
import MeridianCore

/// `meridian bench analytics`: events per CPU-second through the analytics engine, and through the same query in
/// PyFlink local mode on the same file (`scripts/flink/run-job.py`), in the same run.
public enum AnalyticsLoad {
    public struct Result: Sendable {
        public var events: Int
        public var results: Int
        public var cpuSeconds: Double
        public var wallSeconds: Double
        public var eventsPerCPUSecond: Double { Double(events) / max(cpuSeconds, 0.000_001) }
    }

    /// The job over the file at `path` as `meridian analytics replay` runs it (read, decode, count, emit): one
    /// partition, the watermark advancing after every event, the end of the input closing every window.
    public static func engine(job: AnalyticsJob, path: String) throws -> Result {
        guard let handle = FileHandle(forReadingAtPath: path) else { throw CocoaError(.fileReadNoSuchFile) }
        defer { try? handle.close() }
        let cpuBefore = CPUTime.process()
        let start = ContinuousClock.now
        var results = 0
        let summary = AnalyticsReplay.run(
            job: job, configuration: WindowEngine<Aggregate>.Configuration(), lines: LineReader(handle)
        ) { _ in results += 1 }
        return Result(
            events: summary.events, results: results, cpuSeconds: CPUTime.process() - cpuBefore,
            wallSeconds: start.duration(to: .now).timeInterval)
    }

    /// The job's Flink SQL twin over the same file, in PyFlink local mode: `python script --job J --input path`,
    /// whose last line of output is its summary (`events`, `results`, `job_cpu_seconds`: the CPU time of the
    /// Python process and the JVM from the job's submission to its end, start-up excluded).
    public static func flink(python: String, script: String, job: String, path: String) throws -> Result {
        let output = path + ".\(job).flink.jsonl"
        defer { try? FileManager.default.removeItem(atPath: output) }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: python)
        process.arguments = [script, "--job", job, "--input", path, "--output", output]
        let pipe = Pipe()
        process.standardOutput = pipe
        try process.run()
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        let text = String(decoding: data, as: UTF8.self)
        guard process.terminationStatus == 0,
            let line = text.split(separator: "\n").last,
            let summary = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any],
            let cpu = (summary["job_cpu_seconds"] as? NSNumber)?.doubleValue,
            let events = (summary["events"] as? NSNumber)?.intValue
        else {
            throw FlinkRunFailed(status: process.terminationStatus, output: String(text.suffix(2_000)))
        }
        return Result(
            events: events, results: (summary["results"] as? NSNumber)?.intValue ?? 0, cpuSeconds: cpu,
            wallSeconds: (summary["wall_seconds"] as? NSNumber)?.doubleValue ?? 0)
    }

    public struct FlinkRunFailed: Error, CustomStringConvertible {
        public var status: Int32
        public var output: String
        public var description: String { "the Flink run failed (exit \(status)):\n\(output)" }
    }
}
