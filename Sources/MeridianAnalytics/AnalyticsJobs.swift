import Foundation
import MeridianContracts
import MeridianCore

/// What a window holds for one key: how many inputs, the sum of one figure, and the distinct values of one field.
/// Sums saturate instead of trapping: a hostile `total_cents` cannot stop the engine.
public struct Aggregate: WindowAccumulator {
    public var count: Int64 = 0
    public var sum: Int64 = 0
    public var distinct: Set<String> = []

    public init() {}

    mutating func add(_ value: Int64) {
        sum = Saturating.plus(sum, value)
    }
}

/// A field of an event's data, as far as a job reads it.
public typealias FieldValue = JSONScalar

/// An event's data as a job reads it: its top-level fields, each decoded when a job asks for it.
public struct EventFields: Sendable {
    let object: JSONObjectFields

    /// Nil when `json` is not a JSON object.
    public init?(json: [UInt8]) {
        guard let object = JSONObjectFields(json) else { return nil }
        self.object = object
    }

    public subscript(_ name: String) -> FieldValue? { object[name] }
}

/// One figure of a window's result.
public enum MetricValue: Sendable, Hashable, Codable {
    case integer(Int64)
    case text(String)

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        switch self {
        case .integer(let value): try container.encode(value)
        case .text(let value): try container.encode(value)
        }
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        if let value = try? container.decode(Int64.self) {
            self = .integer(value)
        } else {
            self = .text(try container.decode(String.self))
        }
    }
}

/// An analytics job, declared as data (CONTRACTS.md "Analytics jobs"): the events it reads, the key it groups them
/// by, what each adds to its window, and the metrics a window gives. A new job is a few lines in ``AnalyticsJob/all``.
public struct AnalyticsJob: Sendable {
    public var name: String
    /// The CloudEvent type it counts.
    public var eventType: EventType
    /// The topic those events are on.
    public var topic: @Sendable (Topics) -> String
    /// The key of an event's data; nil skips the event (a field missing or of the wrong type).
    public var key: @Sendable (EventFields) -> String?
    /// What one event adds to its window's aggregate.
    public var update: @Sendable (inout Aggregate, EventFields) -> Void
    /// Whether the job keeps a running total of `sum` per key across windows (`lifetime` in ``metrics``).
    public var cumulative = false
    /// The metrics of a window; `lifetime` is the key's running total of `sum` up to this window (cumulative jobs).
    public var metrics: @Sendable (Aggregate, _ lifetime: Int64) -> [String: MetricValue]

    /// `image-bytes`, `orders` and `user-spend`.
    public static let all: [AnalyticsJob] = [imageBytes, orders, userSpend]

    public static func named(_ name: String) -> AnalyticsJob? { all.first { $0.name == name } }

    /// An integer field (a whole number written as a decimal is taken too); nil for anything else.
    static func integer(_ value: FieldValue?) -> Int64? {
        switch value {
        case .integer(let number)?: number
        case .number(let number)? where number.rounded() == number: Int64(exactly: number)
        default: nil
        }
    }

    /// A text field of 1 to 256 bytes; nil for anything else.
    static func text(_ value: FieldValue?) -> String? {
        guard case .text(let text)? = value, !text.isEmpty, text.utf8.count <= 256 else { return nil }
        return text
    }

    /// Bytes of processed image variants per size label.
    public static let imageBytes = AnalyticsJob(
        name: "image-bytes", eventType: ProductImageProcessed.type, topic: { $0.productImagesProcessed },
        key: { text($0["size_label"]) },
        update: { aggregate, data in
            aggregate.count += 1
            aggregate.add(integer(data["size_bytes"]) ?? 0)
        },
        metrics: { aggregate, _ in ["event_count": .integer(aggregate.count), "total_bytes": .integer(aggregate.sum)] })

    /// Confirmed orders of the whole shop: count, revenue, distinct customers, average order value (rounded down).
    public static let orders = AnalyticsJob(
        name: "orders", eventType: OrderConfirmed.type, topic: { $0.orders },
        key: { _ in "all" },
        update: { aggregate, data in
            aggregate.count += 1
            aggregate.add(integer(data["total_cents"]) ?? 0)
            if let user = text(data["user_id"]) { aggregate.distinct.insert(user) }
        },
        metrics: { aggregate, _ in
            [
                "order_count": .integer(aggregate.count), "revenue_cents": .integer(aggregate.sum),
                "unique_users": .integer(Int64(aggregate.distinct.count)),
                "avg_order_value_cents": .integer(aggregate.count > 0 ? aggregate.sum / aggregate.count : 0),
            ]
        })

    /// Spend per customer, with the lifetime spend up to the window and its tier (VIP above 10,000.00, Premium above
    /// 5,000.00, else Regular, in the order's currency units).
    public static let userSpend = AnalyticsJob(
        name: "user-spend", eventType: OrderConfirmed.type, topic: { $0.orders },
        key: { text($0["user_id"]) },
        update: { aggregate, data in
            aggregate.count += 1
            aggregate.add(integer(data["total_cents"]) ?? 0)
        },
        cumulative: true,
        metrics: { aggregate, lifetime in
            [
                "order_count": .integer(aggregate.count), "spent_cents": .integer(aggregate.sum),
                "lifetime_spent_cents": .integer(lifetime), "tier": .text(tier(lifetimeCents: lifetime)),
            ]
        })

    /// The tier of a lifetime spend in minor units.
    public static func tier(lifetimeCents: Int64) -> String {
        lifetimeCents > 1_000_000 ? "VIP" : lifetimeCents > 500_000 ? "Premium" : "Regular"
    }
}

/// The running totals of a cumulative job per key: the windows the engine forgot (final) folded into one base, and
/// each window still open to revisions on its own.
public struct LifetimeLedger: Sendable, Codable, Hashable {
    var base: [String: Int64] = [:]
    var windows: [String: [Int64: Int64]] = [:]

    public init() {}

    /// Records a window's sum (again, for a revision) and returns the key's total up to and including it.
    public mutating func record(key: String, windowStart: Int64, sum: Int64) -> Int64 {
        windows[key, default: [:]][windowStart] = sum
        return total(key: key, windowStart: windowStart, sum: sum)
    }

    /// The key's total up to and including a window whose sum is `sum`, without recording it (an open window).
    public func total(key: String, windowStart: Int64, sum: Int64) -> Int64 {
        var total = Saturating.plus(base[key] ?? 0, sum)
        for (start, value) in windows[key] ?? [:] where start < windowStart {
            total = Saturating.plus(total, value)
        }
        return total
    }

    /// Folds the windows that can no longer change (starting before `start`) into the base.
    public mutating func fold(before start: Int64) {
        for (key, list) in windows {
            var kept: [Int64: Int64] = [:]
            for (windowStart, value) in list {
                if windowStart < start {
                    base[key] = Saturating.plus(base[key] ?? 0, value)
                } else {
                    kept[windowStart] = value
                }
            }
            windows[key] = kept.isEmpty ? nil : kept
        }
    }
}
