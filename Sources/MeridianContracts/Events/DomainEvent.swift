import Foundation
import MeridianCore

/// The CloudEvent `type` of a domain event (`order.confirmed`): each event type names its own, once.
public struct EventType: RawRepresentable, Sendable, Hashable, CustomStringConvertible {
    public var rawValue: String
    public init(rawValue: String) { self.rawValue = rawValue }
    public var description: String { rawValue }
}

/// An event of the commerce contract (CONTRACTS.md "Event data"): its `data` shape, its CloudEvent `type`,
/// the topic it goes to and the role whose `source` it carries. Producers build records from it and
/// consumers switch on ``CommerceEvent``; neither spells a type or a topic as a string.
public protocol DomainEvent: Codable, Sendable, Hashable {
    /// The CloudEvent `type`.
    static var type: EventType { get }
    /// The role that produces it: the CloudEvent `source` is `/meridian/<role>`.
    static var role: String { get }
    /// Its topic, with the configured prefix.
    static func topic(in topics: Topics) -> String
    /// The record key: the id of the order or product it is about.
    var aggregateID: String { get }
}

extension DomainEvent {
    /// The event as a CloudEvent with a fresh id (JSON `data`).
    public func cloudEvent(time: Date = Date(), id: String = RandomID.uuidString()) throws -> CloudEvent {
        CloudEvent(
            id: id, source: "/meridian/\(Self.role)", type: Self.type.rawValue, time: time,
            data: Array(try JSONEncoder().encode(self)))
    }

    /// The event as a record of its topic, keyed by its aggregate (for an outbox).
    public func record(topics: Topics, id: String = RandomID.uuidString(), time: Date = Date()) throws -> EventRecord {
        try cloudEvent(time: time, id: id).record(topic: Self.topic(in: topics), aggregateID: aggregateID)
    }
}

/// A consumed commerce event, decoded by its `type`: what the consumers switch on.
public enum CommerceEvent: Sendable, Hashable {
    case orderCreated(OrderCreated)
    case orderConfirmed(OrderConfirmed)
    case orderFailed(OrderFailed)
    case orderCancelled(OrderCancelled)
    case paymentRequested(PaymentRequested)
    case paymentSucceeded(PaymentSucceeded)
    case paymentFailed(PaymentFailed)
    case paymentRefunded(PaymentRefunded)
    case productDeleted(ProductDeleted)
    case productImageUploaded(ProductImageUploaded)
    case productImageProcessed(ProductImageProcessed)
    case productImageRejected(ProductImageRejected)

    /// Every event type of the contract, with how to read its data.
    private static let decoders: [String: @Sendable (CloudEvent) throws -> CommerceEvent] = [
        OrderCreated.type.rawValue: { .orderCreated(try $0.decodeData(OrderCreated.self)) },
        OrderConfirmed.type.rawValue: { .orderConfirmed(try $0.decodeData(OrderConfirmed.self)) },
        OrderFailed.type.rawValue: { .orderFailed(try $0.decodeData(OrderFailed.self)) },
        OrderCancelled.type.rawValue: { .orderCancelled(try $0.decodeData(OrderCancelled.self)) },
        PaymentRequested.type.rawValue: { .paymentRequested(try $0.decodeData(PaymentRequested.self)) },
        PaymentSucceeded.type.rawValue: { .paymentSucceeded(try $0.decodeData(PaymentSucceeded.self)) },
        PaymentFailed.type.rawValue: { .paymentFailed(try $0.decodeData(PaymentFailed.self)) },
        PaymentRefunded.type.rawValue: { .paymentRefunded(try $0.decodeData(PaymentRefunded.self)) },
        ProductDeleted.type.rawValue: { .productDeleted(try $0.decodeData(ProductDeleted.self)) },
        ProductImageUploaded.type.rawValue: { .productImageUploaded(try $0.decodeData(ProductImageUploaded.self)) },
        ProductImageProcessed.type.rawValue: { .productImageProcessed(try $0.decodeData(ProductImageProcessed.self)) },
        ProductImageRejected.type.rawValue: { .productImageRejected(try $0.decodeData(ProductImageRejected.self)) },
    ]

    /// The event's data as the type its `type` names; nil for a type outside the commerce contract (a consumer
    /// skips it); throws ``UnreadableEvent`` when the data does not fit its type (a consumer dead-letters it).
    public init?(_ event: CloudEvent) throws {
        guard let decode = Self.decoders[event.type] else { return nil }
        self = try decode(event)
    }
}
