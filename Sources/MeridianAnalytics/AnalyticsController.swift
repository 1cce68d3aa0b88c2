import Foundation
import Hummingbird
import MeridianAuth
import MeridianCore
import MeridianHTTP

/// The analytics role's API, under `/api/analytics`:
/// - `GET /api/analytics/{job}?from=&to=&key=&limit=` (admin): the job's windows starting in `[from, to)`, oldest
///   first — those emitted (`final: true`, the highest revision) and those still open as they stand (`final: false`,
///   revision 0), so that a dashboard sees the current minute;
/// - `GET /api/analytics/users/{id}/tier` (the user or an admin): lifetime spend and tier from `user-spend`.
public struct AnalyticsController: APIRoutes {
    let store: SQLAnalyticsStore

    public init(store: SQLAnalyticsStore) {
        self.store = store
    }

    public func addRoutes(to router: some RouterMethods<MeridianRequestContext>) {
        let api = router.group("api/analytics")
        api.get(":job") { request, context in try await self.results(request, context: context) }
        api.get("users/:id/tier") { _, context in try await self.tier(context) }
    }

    struct Item: Encodable {
        var windowStart: String
        var windowEnd: String
        var key: String
        var metrics: [String: MetricValue]
        var revision: Int
        var final: Bool
        var updatedAt: String

        enum CodingKeys: String, CodingKey {
            case key, metrics, revision, final
            case windowStart = "window_start"
            case windowEnd = "window_end"
            case updatedAt = "updated_at"
        }
    }

    struct Items: Encodable {
        var job: String
        var items: [Item]
    }

    struct Tier: Encodable {
        var userID: String
        var lifetimeSpentCents: Int64
        var tier: String
        /// The end of the window the figure is up to; nil before the user's first confirmed order.
        var asOf: String?
        /// False while that window is still open.
        var final: Bool

        enum CodingKeys: String, CodingKey {
            case tier, final
            case userID = "user_id"
            case lifetimeSpentCents = "lifetime_spent_cents"
            case asOf = "as_of"
        }

        // `as_of` is always there, null before the first order (the synthesized encoding would leave it out).
        func encode(to encoder: any Encoder) throws {
            var container = encoder.container(keyedBy: CodingKeys.self)
            try container.encode(userID, forKey: .userID)
            try container.encode(lifetimeSpentCents, forKey: .lifetimeSpentCents)
            try container.encode(tier, forKey: .tier)
            try container.encode(asOf, forKey: .asOf)
            try container.encode(final, forKey: .final)
        }
    }

    func results(_ request: Request, context: MeridianRequestContext) async throws -> Response {
        _ = try context.requireAdmin()
        let name = context.parameter("job")
        guard let job = AnalyticsJob.named(name) else {
            throw ProblemDetails(
                .notFound, slug: "not-found",
                detail:
                    "no analytics job \(Self.quoted(name)); the jobs are \(AnalyticsJob.all.map(\.name).joined(separator: ", "))",
                field: "job")
        }
        let query = request.uri.queryParameters
        let from = try query.get("from").map { try Self.time($0, field: "from") }
        let to = try query.get("to").map { try Self.time($0, field: "to") }
        if let from, let to, to <= from {
            throw ProblemDetails(.badRequest, slug: "invalid-query", detail: "to must be after from", field: "to")
        }
        let key = try query.get("key").map { try Self.text($0, field: "key") }
        let limit = try queryInteger(request, "limit", in: 1...1_000) ?? 100
        let stored = try await store.results(
            job: job.name, from: from, to: to, key: key, limit: limit, open: true)
        return jsonResponse(
            Items(
                job: job.name,
                items: stored.map {
                    Item(
                        windowStart: $0.result.windowStart, windowEnd: $0.result.windowEnd, key: $0.result.key,
                        metrics: $0.result.metrics, revision: $0.result.revision, final: $0.final, updatedAt: $0.updatedAt)
                }))
    }

    func tier(_ context: MeridianRequestContext) async throws -> Response {
        let principal = try context.requirePrincipal()
        let id = try Self.text(context.parameter("id"), field: "id")
        guard principal.role == .admin || principal.userID == id else {
            throw ProblemDetails(.forbidden, slug: "forbidden", detail: "a user's tier is for that user or an admin")
        }
        let job = AnalyticsJob.userSpend
        guard let latest = try await store.latest(job: job.name, key: id) else {
            return jsonResponse(
                Tier(userID: id, lifetimeSpentCents: 0, tier: AnalyticsJob.tier(lifetimeCents: 0), asOf: nil, final: true))
        }
        var lifetime: Int64 = 0
        if case .integer(let value)? = latest.result.metrics["lifetime_spent_cents"] { lifetime = value }
        return jsonResponse(
            Tier(
                userID: id, lifetimeSpentCents: lifetime, tier: AnalyticsJob.tier(lifetimeCents: lifetime),
                asOf: latest.result.windowEnd, final: latest.final))
    }

    /// An RFC 3339 time, as the store writes window starts (UTC, milliseconds), so that they compare as text.
    static func time(_ text: String, field: String) throws -> String {
        guard text.utf8.count <= 64, let date = Timestamp.parse(text) else {
            throw ProblemDetails(
                .badRequest, slug: "invalid-query", detail: "\(field) must be an RFC 3339 time such as 2026-11-30T10:00:00Z",
                field: field)
        }
        let formatted = Timestamp.format(date)
        // Outside years 0001...9999 the text no longer sorts as the times do.
        guard formatted.utf8.count == 24 else {
            throw ProblemDetails(
                .badRequest, slug: "invalid-query", detail: "\(field) must be between years 0001 and 9999", field: field)
        }
        return formatted
    }

    /// A key or an id: 1 to 256 bytes. (Control characters in a path or a query never get here: RequestLimits
    /// answers them with a 400 first.)
    static func text(_ text: String, field: String) throws -> String {
        guard !text.isEmpty, text.utf8.count <= 256 else {
            throw ProblemDetails(.badRequest, slug: "invalid-query", detail: "\(field) must be 1 to 256 bytes", field: field)
        }
        return text
    }

    static func quoted(_ text: String) -> String {
        "'" + String(text.prefix(64)) + "'"
    }
}
