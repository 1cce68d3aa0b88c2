import Foundation

/// The data of an event could not be read as the type its `type` names.
public struct UnreadableEvent: Error, CustomStringConvertible {
    public var eventID: String
    public var type: String
    public var reason: String

    public init(eventID: String, type: String, reason: String) {
        self.eventID = eventID
        self.type = type
        self.reason = reason
    }

    public var description: String { "event \(eventID) (\(type)) is unreadable: \(reason)" }
}

extension CloudEvent {
    /// The `data` decoded as `T`; throws ``UnreadableEvent`` when it does not fit.
    public func decodeData<T: Decodable>(_: T.Type) throws -> T {
        do {
            return try JSONDecoder().decode(T.self, from: Data(data))
        } catch {
            throw UnreadableEvent(eventID: id, type: type, reason: "\(error)")
        }
    }
}
