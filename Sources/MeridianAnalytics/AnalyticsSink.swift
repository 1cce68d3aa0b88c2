/// A place window results go besides the results topic and the SQL table (which is written in one transaction with
/// the checkpoint): object storage, a document store. A sink must be idempotent — the same result written twice
/// leaves one copy, and a lower revision never replaces a higher one — because a restart writes the results of the
/// batches after the last checkpoint again.
public protocol AnalyticsSink: Sendable {
    /// A short name for logs and metrics (`objects`, `dynamodb`).
    var name: String { get }
    /// Writes `results` (a batch's emissions and revisions, in order); throws when any could not be written, so the
    /// batch is retried from the checkpoint.
    func write(_ results: [WindowResult]) async throws
}
