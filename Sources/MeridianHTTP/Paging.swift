import Hummingbird

/// One page of a list, as every list endpoint answers: `{items, page, per_page, total}`.
public struct PageView<Item: Encodable & Sendable>: Encodable, Sendable {
    public var items: [Item]
    public var page: Int
    public var perPage: Int
    public var total: Int

    public init(items: [Item], request: PageRequest, total: Int) {
        self.items = items
        self.page = request.page
        self.perPage = request.perPage
        self.total = total
    }

    enum CodingKeys: String, CodingKey {
        case items, page, total
        case perPage = "per_page"
    }
}

/// The `page` and `per_page` query parameters.
public struct PageRequest: Sendable {
    public var page: Int
    public var perPage: Int
    public var offset: Int { (page - 1) * perPage }

    /// Reads them from the query (page ≥ 1, 1 ≤ per_page ≤ `maxPerPage`); a bad value is a 400 naming it.
    public init(_ request: Request, defaultPerPage: Int = 20, maxPerPage: Int = 100) throws {
        page = try queryInteger(request, "page", in: 1...1_000_000) ?? 1
        perPage = try queryInteger(request, "per_page", in: 1...maxPerPage) ?? defaultPerPage
    }
}

/// An integer query parameter within `range`, or nil when absent; anything else is a 400 naming it.
public func queryInteger(_ request: Request, _ name: String, in range: ClosedRange<Int>) throws -> Int? {
    guard let text = request.uri.queryParameters.get(name) else { return nil }
    guard let value = Int(text), range.contains(value) else {
        throw ProblemDetails(
            .badRequest, slug: "invalid-query", detail: "\(name) must be an integer in \(range.lowerBound)...\(range.upperBound)",
            field: name)
    }
    return value
}
