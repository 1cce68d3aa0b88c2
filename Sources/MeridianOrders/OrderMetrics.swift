import Metrics

/// `meridian_orders_total{status}`: orders that reached each status.
public struct OrderMetrics: Sendable {
    let counters: [OrderStatus: Counter]

    public init(factory: any MetricsFactory = MetricsSystem.factory) {
        var counters: [OrderStatus: Counter] = [:]
        for status in OrderStatus.allCases {
            counters[status] = Counter(
                label: "meridian_orders_total", dimensions: [("status", status.metricLabel)], factory: factory)
        }
        self.counters = counters
    }

    public func reached(_ status: OrderStatus) {
        counters[status]?.increment()
    }
}
