import Foundation
import MeridianCore
import Testing

@testable import MeridianMessaging

/// The consumer pipeline's rules without I/O.
@Suite struct DeliveryTests {
    static func record(_ offset: Int64, key: String?, partition: Int32 = 0) -> ConsumedRecord {
        ConsumedRecord(
            topic: "t", partition: partition, offset: offset, key: key.map { Array($0.utf8) }, value: [], headers: [],
            timestamp: Date(timeIntervalSince1970: 0))
    }

    @Test func recordsOfOneKeyStartOneAfterTheOtherAndOtherKeysSideBySide() {
        var delivery = Delivery(concurrency: 8, capacity: 100)
        let started = delivery.received([
            Self.record(0, key: "a"), Self.record(1, key: "a"), Self.record(2, key: "b"), Self.record(3, key: nil),
            Self.record(4, key: nil),
        ])
        #expect(started.map(\.record.offset) == [0, 2, 3, 4])
        #expect(delivery.held == 5)
        let next = delivery.finished(started[0])
        #expect(next.map(\.record.offset) == [1])
        // A key whose records are all done starts fresh.
        #expect(delivery.finished(next[0]).isEmpty)
        #expect(delivery.received([Self.record(5, key: "a")]).map(\.record.offset) == [5])
    }

    @Test func noMoreThanTheConcurrencyRunAndTheRoomBoundsThePolls() {
        var delivery = Delivery(concurrency: 2, capacity: 4)
        let started = delivery.received((0..<4).map { Self.record(Int64($0), key: "k\($0)") })
        #expect(started.map(\.record.offset) == [0, 1])
        #expect(delivery.running == 2)
        #expect(delivery.room == 0)
        #expect(delivery.finished(started[1]).map(\.record.offset) == [2])
        #expect(delivery.room == 1)
    }

    @Test func theOffsetMovesOnlyPastRecordsWhoseEveryPredecessorIsDone() {
        var delivery = Delivery(concurrency: 10, capacity: 100)
        let items = delivery.received([
            Self.record(10, key: "a"), Self.record(11, key: "b"), Self.record(12, key: "c"),
            Self.record(5, key: "d", partition: 1),
        ])
        #expect(delivery.takeCommittable().isEmpty)
        _ = delivery.finished(items[2])
        _ = delivery.finished(items[1])
        // 10 is not done: partition 0 cannot move.
        #expect(delivery.takeCommittable().isEmpty)
        _ = delivery.finished(items[3])
        #expect(delivery.takeCommittable().map(\.offset) == [5])
        _ = delivery.finished(items[0])
        #expect(delivery.takeCommittable().map(\.offset) == [12])
        // Taken once.
        #expect(delivery.takeCommittable().isEmpty)
        #expect(delivery.held == 0)
    }

    @Test func repeatedOffsetsAreTrackedByArrival() {
        var delivery = Delivery(concurrency: 10, capacity: 100)
        let items = delivery.received([Self.record(0, key: "a"), Self.record(0, key: "b")])
        _ = delivery.finished(items[1])
        #expect(delivery.takeCommittable().isEmpty)
        _ = delivery.finished(items[0])
        #expect(delivery.takeCommittable().count == 1)
    }
}
