/// The rules of a CSV ingest job's life, without I/O: a status and what happened give the next status, or say
/// why nothing changes. The job store applies the answer in one transaction whose `UPDATE … WHERE status = <the
/// status read>` settles a race with another process.
///
/// ```
/// PENDING ──── claim ────► IN_PROGRESS ── checkpoint ──► IN_PROGRESS (a batch is durable)
///    │                        │ ── claim (the owner's lease expired) ──► IN_PROGRESS (another runner resumes)
///    │                        │ ── release (graceful shutdown) ────────► IN_PROGRESS (no owner)
///    │                        │ ── complete ──► COMPLETED
///    ├──── fail ──────────────┴─── fail ──────► FAILED
///    └──── cancel ────────────┴─── cancel ────► CANCELLED (a runner stops before its next batch)
/// COMPLETED, FAILED, CANCELLED: final.
/// ```
public enum IngestJobLifecycle {
    /// What can happen to a job.
    public enum Event: Sendable, Hashable {
        /// A runner takes the job (a new one, or one whose previous owner's lease expired).
        case claim
        /// A batch is durable and its checkpoint written.
        case checkpoint
        /// The runner stops without finishing (graceful shutdown, a transient failure): the job waits for a runner.
        case release
        /// Every row was read and the error budget held.
        case complete
        case fail(reason: String)
        case cancel
    }

    public enum Transition: Sendable, Hashable {
        case move(to: IngestJobStatus)
        /// Nothing to change: the job is already there (a repeated cancel).
        case unchanged
        /// The event is not allowed in this status.
        case refuse(String)
    }

    public static func transition(from status: IngestJobStatus, on event: Event) -> Transition {
        switch (status, event) {
        case (.pending, .claim), (.inProgress, .claim):
            return .move(to: .inProgress)
        case (.inProgress, .checkpoint), (.inProgress, .release):
            return .move(to: .inProgress)
        case (.inProgress, .complete):
            return .move(to: .completed)
        case (.pending, .fail), (.inProgress, .fail):
            return .move(to: .failed)
        case (.pending, .cancel), (.inProgress, .cancel):
            return .move(to: .cancelled)
        case (.cancelled, .cancel):
            return .unchanged
        case (.pending, .checkpoint), (.pending, .release), (.pending, .complete):
            return .refuse("the job has not started")
        case (.completed, _), (.failed, _), (.cancelled, _):
            return .refuse("the job is \(status.rawValue.lowercased())")
        }
    }
}

/// When the rejected fraction fails a job, without I/O.
///
/// Judged after every batch once at least ``minimumRows`` rows were read (a handful of early bad rows in a large
/// file does not fail it: with 1 bad row out of 3 the fraction says little), and at the end of the file whatever
/// the count. A job that fails the budget mid-file stops there (the rows before stay published).
public struct IngestErrorBudget: Sendable, Hashable {
    /// The largest rejected fraction, 0...1.
    public var maxErrorRate: Double
    /// Rows read before the budget is judged mid-file. Default 1,000.
    public var minimumRows: Int

    public static let defaultMinimumRows = 1_000

    public init(maxErrorRate: Double, minimumRows: Int = IngestErrorBudget.defaultMinimumRows) {
        self.maxErrorRate = maxErrorRate
        self.minimumRows = minimumRows
    }

    /// The reason the job fails, or nil while the budget holds.
    public func verdict(rowsRead: Int, rowsRejected: Int, atEnd: Bool) -> String? {
        guard rowsRead > 0, rowsRejected > 0 else { return nil }
        guard atEnd || rowsRead >= minimumRows else { return nil }
        let rate = Double(rowsRejected) / Double(rowsRead)
        guard rate > maxErrorRate else { return nil }
        return "\(rowsRejected) of \(rowsRead) rows rejected (more than the allowed \(maxErrorRate))"
    }
}
