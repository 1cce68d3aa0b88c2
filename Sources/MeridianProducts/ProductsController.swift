import Foundation
import HTTPTypes
import Hummingbird
import Logging
import MeridianAuth
import MeridianContracts
import MeridianCore
import MeridianHTTP

/// The products role's API, under `/api/products`: the public catalog, and admin create, update,
/// soft delete (which emits `product.deleted` through the outbox) and stock adjustments.
public struct ProductsController: APIRoutes {
    let products: any ProductStore
    let topics: Topics
    let logger: Logger
    /// Nil where the server keeps no images: products then list none, and the image routes answer 404.
    let images: ProductImageAccess?

    public init(products: any ProductStore, topics: Topics, logger: Logger, images: ProductImageAccess? = nil) {
        self.products = products
        self.topics = topics
        self.logger = logger
        self.images = images
    }

    public func addRoutes(to router: some RouterMethods<MeridianRequestContext>) {
        let api = router.group("api/products")
        api.get { request, _ in try await self.list(request) }
        api.get(":id") { _, context in try await self.read(context) }
        api.post { request, context in try await self.create(request, context: context) }
        api.patch(":id") { request, context in try await self.update(request, context: context) }
        api.delete(":id") { _, context in try await self.delete(context) }
        api.post(":id/stock") { request, context in try await self.adjustStock(request, context: context) }
        addImageRoutes(to: api)
    }

    struct NewProduct: Decodable {
        var name: String
        var description: String?
        var category: String
        var priceCents: Int
        var currency: String?
        var stock: Int?

        enum CodingKeys: String, CodingKey {
            case name, description, category, currency, stock
            case priceCents = "price_cents"
        }
    }

    struct ProductChange: Decodable {
        var name: String?
        var description: String?
        var category: String?
        var priceCents: Int?
        var currency: String?

        enum CodingKeys: String, CodingKey {
            case name, description, category, currency
            case priceCents = "price_cents"
        }
    }

    struct StockChange: Decodable {
        var delta: Int
    }

    struct ProductView: Encodable, Sendable {
        var id: String
        var name: String
        var description: String
        var category: String
        var priceCents: Int
        var currency: String
        var stock: Int
        var reserved: Int
        var available: Int
        var sold: Int
        var images: [ImageView]

        enum CodingKeys: String, CodingKey {
            case id, name, description, category, currency, stock, reserved, available, sold, images
            case priceCents = "price_cents"
        }

        init(_ product: Product, images: [ImageView] = []) {
            id = product.id.rawValue
            name = product.name
            description = product.description
            category = product.category
            priceCents = product.priceCents
            currency = product.currency
            stock = product.stock
            reserved = product.reserved
            available = product.available
            sold = product.sold
            self.images = images
        }
    }

    func list(_ request: Request) async throws -> Response {
        let parameters = request.uri.queryParameters
        var query = ProductQuery()
        query.category = parameters.get("category")
        query.text = parameters.get("q")
        query.minPriceCents = try queryInteger(request, "min_price_cents", in: 0...Int.max)
        query.maxPriceCents = try queryInteger(request, "max_price_cents", in: 0...Int.max)
        if let sort = parameters.get("sort") {
            guard let value = ProductQuery.Sort(rawValue: sort) else {
                throw ProblemDetails(
                    .badRequest, slug: "invalid-query",
                    detail: "sort must be one of \(ProductQuery.Sort.allCases.map(\.rawValue).joined(separator: ", "))",
                    field: "sort")
            }
            query.sort = value
        }
        let page = try PageRequest(request)
        query.offset = page.offset
        query.limit = page.perPage
        let (items, total) = try await products.list(query)
        let images = try await imageViews(of: items.map(\.id))
        return jsonResponse(
            PageView(items: items.map { ProductView($0, images: images[$0.id] ?? []) }, request: page, total: total))
    }

    func read(_ context: MeridianRequestContext) async throws -> Response {
        let product = try await existing(context)
        return jsonResponse(ProductView(product, images: try await imageViews(of: [product.id])[product.id] ?? []))
    }

    func create(_ request: Request, context: MeridianRequestContext) async throws -> Response {
        _ = try context.requireAdmin()
        let new = try await decodeJSONBody(NewProduct.self, from: request, context: context)
        let product = Product(
            id: ProductID(rawValue: RandomID.uuidString()), name: try Self.text(new.name, field: "name", max: 200),
            description: try Self.text(new.description ?? "", field: "description", max: 5000, allowEmpty: true),
            category: try Self.text(new.category, field: "category", max: 100),
            priceCents: try Self.price(new.priceCents), currency: try Self.currency(new.currency ?? "USD"),
            stock: try Self.stock(new.stock ?? 0), reserved: 0, deleted: false, createdAt: Date())
        try await products.insert(product)
        return jsonResponse(
            ProductView(product), status: .created, headers: [.location: "/api/products/\(product.id.rawValue)"])
    }

    func update(_ request: Request, context: MeridianRequestContext) async throws -> Response {
        _ = try context.requireAdmin()
        var product = try await existing(context)
        let change = try await decodeJSONBody(ProductChange.self, from: request, context: context)
        if let name = change.name { product.name = try Self.text(name, field: "name", max: 200) }
        if let description = change.description {
            product.description = try Self.text(description, field: "description", max: 5000, allowEmpty: true)
        }
        if let category = change.category { product.category = try Self.text(category, field: "category", max: 100) }
        if let price = change.priceCents { product.priceCents = try Self.price(price) }
        if let currency = change.currency { product.currency = try Self.currency(currency) }
        try await products.update(product)
        return jsonResponse(ProductView(product))
    }

    func delete(_ context: MeridianRequestContext) async throws -> Response {
        _ = try context.requireAdmin()
        let id = ProductID(rawValue: context.parameter("id"))
        guard try await products.softDelete(id, topics: topics) else {
            throw ProblemDetails(.notFound, slug: "not-found", detail: "no product \(id.rawValue)")
        }
        logger.info("product deleted", metadata: ["product_id": "\(id.rawValue)"])
        return Response(status: .noContent)
    }

    func adjustStock(_ request: Request, context: MeridianRequestContext) async throws -> Response {
        _ = try context.requireAdmin()
        let product = try await existing(context)
        let change = try await decodeJSONBody(StockChange.self, from: request, context: context)
        let delta = try CheckedMath.within(change.delta, -Self.maxStock...Self.maxStock, field: "delta")
        switch try await products.adjustStock(product.id, by: delta, max: Self.maxStock) {
        case .adjusted(let adjusted):
            return jsonResponse(ProductView(adjusted))
        case .notFound:
            throw ProblemDetails(.notFound, slug: "not-found", detail: "no product \(product.id.rawValue)")
        case .belowReserved(let stock, let reserved):
            throw ProblemDetails(
                .conflict, slug: "insufficient-stock",
                detail: "stock \(stock) + \(delta) would fall below the \(reserved) reserved", field: "delta")
        case .aboveMaximum(let stock):
            throw ProblemDetails(
                .unprocessableContent, slug: "invalid-field",
                detail: "delta: stock \(stock) + \(delta) would exceed \(Self.maxStock)", field: "delta")
        }
    }

    func existing(_ context: MeridianRequestContext) async throws -> Product {
        let id = ProductID(rawValue: context.parameter("id"))
        guard let product = try await products.find(id) else {
            throw ProblemDetails(.notFound, slug: "not-found", detail: "no product \(id.rawValue)")
        }
        return product
    }

    private static func invalid(_ field: String, _ detail: String) -> ProblemDetails {
        ProblemDetails(.unprocessableContent, slug: "invalid-field", detail: "\(field) \(detail)", field: field)
    }

    /// Names and categories are one line; a description may hold line breaks and tabs.
    private static func text(_ value: String, field: String, max: Int, allowEmpty: Bool = false) throws -> String {
        try TextRules.check(
            value, field: field, maxCharacters: max, allowEmpty: allowEmpty, lines: field == "description" ? .multiple : .single)
    }

    private static func price(_ cents: Int) throws -> Int {
        guard (0...100_000_000_00).contains(cents) else { throw invalid("price_cents", "must be between 0 and 10000000000") }
        return cents
    }

    private static func currency(_ code: String) throws -> String {
        guard code.count == 3, code.allSatisfy({ $0.isASCII && $0.isUppercase }) else {
            throw invalid("currency", "must be an ISO 4217 code such as USD")
        }
        return code
    }

    /// Most units of one product in stock.
    static let maxStock = 1_000_000_000

    private static func stock(_ count: Int) throws -> Int {
        try CheckedMath.within(count, 0...maxStock, field: "stock")
    }
}
