import Testing

@testable import MeridianIngestJobs

@Suite struct IngestProgressFormatterTests {
    func progress(
        done: Int64, total: Int64, rows: Int = 1_000, thisRun: Int64 = 0, rowsThisRun: Int = 0, elapsed: Duration = .zero
    ) -> IngestProgress {
        IngestProgress(
            jobID: IngestJobID("j1"), bytesDone: done, bytesTotal: total, rowsRead: rows, rowsPublished: rows - 3,
            rowsRejected: 3, bytesThisRun: thisRun, rowsThisRun: rowsThisRun, elapsed: elapsed)
    }

    @Test func aBarLineForATerminalAndAPlainLineOtherwise() {
        let halfway = progress(done: 5_000_000, total: 10_000_000, thisRun: 4_000_000, rowsThisRun: 800, elapsed: .seconds(4))
        #expect(
            IngestProgressFormatter.line(halfway, terminal: true, width: 10)
                == "[#####.....]  50.0% of 10.0 MB, 1000 rows (997 published, 3 rejected), 200 rows/s, ETA 0:05")
        #expect(
            IngestProgressFormatter.line(halfway, terminal: false)
                == "job j1:  50.0% of 10.0 MB, 1000 rows (997 published, 3 rejected), 200 rows/s, ETA 0:05")
    }

    @Test func theRatesComeFromThisRunAndTheEtaFromTheBytesLeft() {
        // A resumed run started at 9 MB of 10 and read 0.5 MB in 10 s: the 0.5 MB left at 50 kB/s take 10 s.
        let resumed = progress(done: 9_500_000, total: 10_000_000, thisRun: 500_000, rowsThisRun: 2_000, elapsed: .seconds(10))
        #expect(IngestProgressFormatter.rowsPerSecond(resumed) == 200)
        #expect(IngestProgressFormatter.eta(resumed) == .seconds(10))
        #expect(IngestProgressFormatter.fraction(resumed) == 0.95)
        let long = progress(done: 1, total: 10_000_001, thisRun: 1, rowsThisRun: 1, elapsed: .seconds(1))
        #expect(IngestProgressFormatter.clock(IngestProgressFormatter.eta(long) ?? .zero) == "2777:46:40")
        let never = progress(done: 1, total: 10_000_000_000, thisRun: 1, rowsThisRun: 1, elapsed: .seconds(1))
        #expect(IngestProgressFormatter.eta(never) == nil, "beyond 10^9 s there is no useful ETA")
    }

    @Test func zeroNegativeAndHugeFiguresNeverTrap() {
        let empty = progress(done: 0, total: 0)
        #expect(IngestProgressFormatter.fraction(empty) == 1)
        #expect(IngestProgressFormatter.rowsPerSecond(empty) == nil)
        #expect(IngestProgressFormatter.eta(empty) == nil)
        #expect(IngestProgressFormatter.bar(empty, width: 4).hasPrefix("[#####]"), "the width is at least 5")
        let odd = progress(done: -5, total: .max, thisRun: -1, rowsThisRun: -3, elapsed: .seconds(-2))
        #expect(IngestProgressFormatter.fraction(odd) == 0)
        #expect(IngestProgressFormatter.eta(odd) == nil)
        #expect(IngestProgressFormatter.plain(odd).contains("ETA --:--"))
        let beyond = progress(done: 20, total: 10, thisRun: 20, rowsThisRun: 5, elapsed: .milliseconds(1))
        #expect(IngestProgressFormatter.fraction(beyond) == 1)
        #expect(IngestProgressFormatter.eta(beyond) == .zero)
        #expect(IngestProgressFormatter.bar(beyond, width: .max).count < 400)
        #expect(IngestProgressFormatter.bytes(999) == "999 B")
        #expect(IngestProgressFormatter.bytes(1_500) == "1.5 kB")
        #expect(IngestProgressFormatter.clock(.seconds(3_725)) == "1:02:05")
    }
}
