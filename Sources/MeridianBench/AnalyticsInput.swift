import Foundation
import MeridianContracts
import MeridianCore

/// Generated input for the analytics jobs (the benchmark and the tests): events at a steady pace of event time, a
/// share of them out of order by less than the allowed out-of-orderness, so that every engine, Meridian's and Flink's,
/// counts each one on time whatever the interleaving of partitions. Deterministic for a seed.
public struct AnalyticsInput: Sequence, Sendable {
    public enum Kind: String, Sendable, CaseIterable {
        /// `order.confirmed` (the `orders` and `user-spend` jobs).
        case orders
        /// `product-images.processed` (the `image-bytes` job).
        case images
    }

    public struct Event: Sendable, Hashable {
        public var id: String
        public var type: String
        public var source: String
        /// Milliseconds since 1970.
        public var time: Int64
        /// The data, as JSON.
        public var data: String
        /// The record key: the order or the product.
        public var key: String

        public init(id: String, type: String, source: String, time: Int64, data: String, key: String) {
            self.id = id
            self.type = type
            self.source = source
            self.time = time
            self.data = data
            self.key = key
        }

        /// One structured CloudEvent, as `meridian analytics replay` and Flink's JSON source read it.
        public var line: String {
            #"{"specversion":"1.0","id":"\#(id)","source":"\#(source)","type":"\#(type)","time":"\#(Timestamp.format(date))","datacontenttype":"application/json","data":\#(data)}"#
        }

        public var date: Date { Date(timeIntervalSince1970: Double(time) / 1000) }

        /// The event as the event log holds it (binary mode).
        public func record(topic: String) -> EventRecord {
            CloudEvent(id: id, source: source, type: type, time: date, data: Array(data.utf8)).record(
                topic: topic, aggregateID: key)
        }
    }

    public var kind: Kind
    public var count: Int
    /// The first event's time, in milliseconds since 1970.
    public var start: Int64
    /// Event time between one event and the next, in milliseconds.
    public var step: Int64 = 10
    /// The share of events out of order (default 10%)...
    public var outOfOrder: Double = 0.1
    /// ...each by up to this many milliseconds (default 4,000: within the default 5 s out-of-orderness).
    public var maxDisorder: Int64 = 4_000
    /// Distinct users (orders) or products (images).
    public var keys: UInt64 = 1_000
    public var seed: UInt64 = 20_261_130

    public init(kind: Kind, count: Int, start: Int64) {
        self.kind = kind
        self.count = count
        self.start = start
    }

    public func makeIterator() -> Iterator { Iterator(input: self, generator: SeededGenerator(seed: seed)) }

    public struct Iterator: IteratorProtocol {
        let input: AnalyticsInput
        var generator: SeededGenerator
        var index = 0

        public mutating func next() -> Event? {
            guard index < input.count else { return nil }
            defer { index += 1 }
            var time = input.start + Int64(index) * input.step
            if Double(generator.next() % 1_000_000) / 1_000_000 < input.outOfOrder {
                time -= Int64(generator.next() % UInt64(Swift.max(input.maxDisorder, 1)))
            }
            let key = generator.next() % Swift.max(input.keys, 1)
            let stamp = Timestamp.format(Date(timeIntervalSince1970: Double(time) / 1000))
            switch input.kind {
            case .orders:
                let cents = 100 + generator.next() % 90_000
                return Event(
                    id: "order-\(index)-confirmed", type: OrderConfirmed.type.rawValue, source: "/meridian/orders",
                    time: time,
                    data:
                        #"{"order_id":"order-\#(index)","user_id":"user-\#(key)","total_cents":\#(cents),"currency":"EUR","payment_id":"pay-\#(index)","confirmed_at":"\#(stamp)"}"#,
                    key: "order-\(index)")
            case .images:
                let label = ["thumbnail", "medium", "large"][Int(generator.next() % 3)]
                let bytes = 2_000 + generator.next() % 400_000
                return Event(
                    id: "image-\(index)-\(label)", type: ProductImageProcessed.type.rawValue, source: "/meridian/images",
                    time: time,
                    data:
                        #"{"product_id":"product-\#(key)","original_key":"uploads/product-\#(key)/\#(index).jpg","processed_key":"processed/\#(label)/product-\#(key)/\#(index).jpg","size_label":"\#(label)","width":300,"height":300,"size_bytes":\#(bytes),"content_type":"image/jpeg","processed_at":"\#(stamp)"}"#,
                    key: "product-\(key)")
            }
        }
    }

    /// Writes the input to `path`, one structured CloudEvent per line.
    public func write(to path: String) throws {
        guard FileManager.default.createFile(atPath: path, contents: nil), let handle = FileHandle(forWritingAtPath: path)
        else { throw CocoaError(.fileWriteUnknown) }
        defer { try? handle.close() }
        var chunk = ""
        for event in self {
            chunk += event.line
            chunk += "\n"
            if chunk.utf8.count > 1_048_576 {
                try handle.write(contentsOf: Data(chunk.utf8))
                chunk = ""
            }
        }
        try handle.write(contentsOf: Data(chunk.utf8))
    }
}

/// A small deterministic generator (SplitMix64): the same input on every run and every machine.
public struct SeededGenerator: RandomNumberGenerator, Sendable {
    var state: UInt64

    public init(seed: UInt64) {
        state = seed
    }

    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
