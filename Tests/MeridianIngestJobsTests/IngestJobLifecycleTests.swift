import Testing

@testable import MeridianIngestJobs

@Suite struct IngestJobLifecycleTests {
    typealias L = IngestJobLifecycle

    @Test func aJobRunsFromPendingToAnEnd() {
        #expect(L.transition(from: .pending, on: .claim) == .move(to: .inProgress))
        #expect(L.transition(from: .inProgress, on: .checkpoint) == .move(to: .inProgress))
        #expect(L.transition(from: .inProgress, on: .release) == .move(to: .inProgress))
        #expect(L.transition(from: .inProgress, on: .claim) == .move(to: .inProgress), "a dead owner's job is taken over")
        #expect(L.transition(from: .inProgress, on: .complete) == .move(to: .completed))
        #expect(L.transition(from: .inProgress, on: .fail(reason: "x")) == .move(to: .failed))
        #expect(L.transition(from: .pending, on: .fail(reason: "x")) == .move(to: .failed))
        #expect(L.transition(from: .pending, on: .cancel) == .move(to: .cancelled))
        #expect(L.transition(from: .inProgress, on: .cancel) == .move(to: .cancelled))
    }

    @Test func aJobThatHasNotStartedCannotCheckpointOrComplete() {
        for event in [L.Event.checkpoint, .release, .complete] {
            #expect(L.transition(from: .pending, on: event) == .refuse("the job has not started"))
        }
    }

    @Test func endedJobsChangeNoMoreAndARepeatedCancelIsHarmless() {
        #expect(L.transition(from: .cancelled, on: .cancel) == .unchanged)
        for status in [IngestJobStatus.completed, .failed, .cancelled] {
            #expect(status.isFinal)
            for event in [L.Event.claim, .checkpoint, .release, .complete, .fail(reason: "x")] {
                #expect(L.transition(from: status, on: event) == .refuse("the job is \(status.rawValue.lowercased())"))
            }
        }
        #expect(L.transition(from: .completed, on: .cancel) == .refuse("the job is completed"))
        #expect(!IngestJobStatus.pending.isFinal && !IngestJobStatus.inProgress.isFinal)
    }

    @Test func theErrorBudgetIsJudgedAfterTheMinimumRowsAndAtTheEnd() {
        let budget = IngestErrorBudget(maxErrorRate: 0.1, minimumRows: 100)
        // Early bad rows do not fail a job mid-file.
        #expect(budget.verdict(rowsRead: 3, rowsRejected: 3, atEnd: false) == nil)
        #expect(budget.verdict(rowsRead: 99, rowsRejected: 50, atEnd: false) == nil)
        #expect(budget.verdict(rowsRead: 100, rowsRejected: 10, atEnd: false) == nil, "exactly the rate is allowed")
        #expect(budget.verdict(rowsRead: 100, rowsRejected: 11, atEnd: false) != nil)
        // At the end the count does not matter.
        #expect(budget.verdict(rowsRead: 3, rowsRejected: 1, atEnd: true) != nil)
        #expect(budget.verdict(rowsRead: 0, rowsRejected: 0, atEnd: true) == nil)
        #expect(budget.verdict(rowsRead: 10, rowsRejected: 0, atEnd: true) == nil)
        #expect(IngestErrorBudget(maxErrorRate: 0).verdict(rowsRead: 5_000, rowsRejected: 1, atEnd: true) != nil)
        #expect(IngestErrorBudget(maxErrorRate: 1).verdict(rowsRead: 5, rowsRejected: 5, atEnd: true) == nil)
    }
}
