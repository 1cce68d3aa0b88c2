import MeridianCore

/// `product.deleted` on its own topic.
public struct ProductDeleted: DomainEvent {
    public static let type = EventType(rawValue: "product.deleted")
    public static let role = "products"
    public static func topic(in topics: Topics) -> String { topics.productDeleted }
    public var aggregateID: String { productID }

    public var productID: String
    public var deletedAt: String

    public init(productID: String, deletedAt: String) {
        self.productID = productID
        self.deletedAt = deletedAt
    }

    enum CodingKeys: String, CodingKey {
        case productID = "product_id"
        case deletedAt = "deleted_at"
    }
}
