/// Runs `operation` to its end even when the calling task is cancelled, and returns its result.
///
/// For the steps that must never be skipped once something began: ending a transaction (`COMMIT`,
/// `ROLLBACK`, `RELEASE`), closing a connection. NIO's thread pool drops the work of a cancelled task, so a
/// `ROLLBACK` issued from one would leave the connection inside a transaction.
public func uncancelled<Result: Sendable>(_ operation: @escaping @Sendable () async throws -> Result) async throws
    -> Result
{
    try await Task { try await operation() }.value
}
