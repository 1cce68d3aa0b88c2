/// The contract topic names (CONTRACTS.md), with the configurable prefix in front.
public struct Topics: Sendable, Hashable {
    /// The prefix put in front of every topic, for example `prod.`; empty by default.
    public var prefix: String

    public init(prefix: String = "") {
        self.prefix = prefix
    }

    public var events: String { prefix + "events" }
    public var deadLetter: String { prefix + "events-dlq" }
    public var orders: String { prefix + "orders" }
    public var paymentRequested: String { prefix + "payment.requested" }
    public var paymentSucceeded: String { prefix + "payment.succeeded" }
    public var paymentFailed: String { prefix + "payment.failed" }
    /// Meridian's addition to the contract topics: refunds of payments for cancelled orders.
    public var paymentRefunded: String { prefix + "payment.refunded" }
    public var productDeleted: String { prefix + "product.deleted" }
    public var productImagesUploaded: String { prefix + "product-images.uploaded" }
    public var productImagesProcessed: String { prefix + "product-images.processed" }
    public var analyticsResults: String { prefix + "analytics-results" }

    /// Every contract topic.
    public var all: [String] {
        [
            events, deadLetter, orders, paymentRequested, paymentSucceeded, paymentFailed, paymentRefunded, productDeleted,
            productImagesUploaded, productImagesProcessed, analyticsResults,
        ]
    }
}

/// Builds `events-dlq` records with the CONTRACTS.md headers.
public enum DeadLetter {
    /// The original record sent to the dead-letter topic, with `dlq-*` headers describing why.
    public static func record(
        for original: EventRecord,
        topics: Topics,
        error: String,
        errorClass: String,
        attempts: Int
    ) -> EventRecord {
        var headers = original.headers
        headers.append(EventHeader("dlq-error", error))
        headers.append(EventHeader("dlq-error-class", errorClass))
        headers.append(EventHeader("dlq-source-topic", original.topic))
        headers.append(EventHeader("dlq-attempts", String(attempts)))
        return EventRecord(topic: topics.deadLetter, key: original.key, value: original.value, headers: headers)
    }
}
