import MeridianGateway

/// The public API's prefixes of each role.
let apiPrefixes: [(MeridianSettings.Role, [String])] = [
    (.users, ["/api/users", "/api/auth"]), (.products, ["/api/products"]), (.carts, ["/api/cart"]),
    (.orders, ["/api/orders"]), (.payments, ["/api/payments"]), (.notifications, ["/api/notifications"]),
    (.ingestor, ["/events"]), (.ingestJobs, ["/api/ingest"]), (.analytics, ["/api/analytics"]),
]

/// What the gateway forwards: the prefixes of the roles this process does not run and has a URL for.
func gatewayRoutes(_ settings: MeridianSettings) -> [GatewayRoute] {
    apiPrefixes.flatMap { role, prefixes -> [GatewayRoute] in
        guard !settings.roles.contains(role), let url = settings.serviceURLs[role] else { return [] }
        return prefixes.map { GatewayRoute(prefix: $0, service: role.rawValue, baseURL: url) }
    }
}
