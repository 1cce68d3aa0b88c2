import Foundation
import MeridianCore

/// The error report of a job: one JSON object per rejected row, `{"row", "line", "reason", "raw"}` (`raw` the
/// record's bytes as text, invalid UTF-8 repaired), in row order, under `ingest/reports/<job_id>/errors.jsonl`.
///
/// Object stores cannot append, so the rows wait in SQL (written with each checkpoint) and the object is written
/// once, when the job ends, streamed page by page from the table (constant memory).
public enum IngestErrorReport {
    /// The report's key for a job.
    public static func key(for id: IngestJobID, prefix: String = "ingest/reports") throws -> ObjectKey {
        try ObjectKey(validating: "\(prefix)/\(id.rawValue)/errors.jsonl")
    }

    /// Writes the report of `id` and returns its key.
    public static func write(
        _ id: IngestJobID, store: any IngestJobStore, objects: any ObjectStore, prefix: String = "ingest/reports",
        pageSize: Int = 1_000
    ) async throws -> ObjectKey {
        let key = try key(for: id, prefix: prefix)
        let body = AsyncThrowingStream<[UInt8], any Error>.producing(
            { yield in
                var after = 0
                while true {
                    let page = try await store.errors(of: id, after: after, limit: pageSize)
                    guard let last = page.last else { break }
                    var chunk: [UInt8] = []
                    for error in page { chunk += line(error) }
                    yield(chunk)
                    after = last.row
                }
            },
            describe: { $0 })
        _ = try await objects.put(key, contentType: "application/x-ndjson", metadata: [:], limit: nil, body: body)
        return key
    }

    /// One line of the report.
    public static func line(_ error: IngestRowError) -> [UInt8] {
        var out = Array("{\"row\":\(error.row),\"line\":\(error.line),\"reason\":".utf8)
        RowEvents.appendJSONString(error.reason, to: &out)
        out += Array(",\"raw\":".utf8)
        RowEvents.appendJSONString(String(decoding: error.raw, as: UTF8.self), to: &out)
        out += Array("}\n".utf8)
        return out
    }
}
