import Foundation
import Logging
import MeridianAuth
import MeridianCarts
import MeridianCore
import MeridianHTTP
import MeridianNotifications
import MeridianOrders
import MeridianPayments
import MeridianProducts
import MeridianStorage
import MeridianUsers
import Metrics
import ServiceLifecycle

/// The ports every commerce role is built from.
public struct CommerceContext: Sendable {
    public var settings: MeridianSettings
    public var store: any SQLStore
    public var eventLog: any EventLog
    public var tokens: TokenService
    public var metrics: any MetricsFactory
    public var logger: Logger
    /// Whether accounts may still act, as the authentication asks it; told when an account changes here.
    public var accounts: CachedAccountStatus?
    /// Awaited by the workers before they start (until the migrations ran).
    public var ready: @Sendable () async -> Void

    public init(
        settings: MeridianSettings, store: any SQLStore, eventLog: any EventLog, tokens: TokenService,
        metrics: any MetricsFactory, logger: Logger, accounts: CachedAccountStatus? = nil,
        ready: @escaping @Sendable () async -> Void = {}
    ) {
        self.settings = settings
        self.store = store
        self.eventLog = eventLog
        self.tokens = tokens
        self.metrics = metrics
        self.logger = logger
        self.accounts = accounts
        self.ready = ready
    }

    var topics: Topics { settings.topics }

    /// The outbox relay of `service`.
    func relay(_ service: String) -> OutboxRelay {
        OutboxRelay(
            store: store, eventLog: eventLog, service: service, topics: topics, logger: logger, metrics: metrics, ready: ready)
    }

    /// A consumer group of `group` over `topics`.
    func consumer(
        _ group: String, topics: [String], handler: @escaping @Sendable ([ConsumedRecord]) async throws -> Void
    ) -> ConsumerService {
        ConsumerService(
            eventLog: eventLog, options: ConsumerOptions(group: group, topics: topics), logger: logger, ready: ready,
            handler: handler)
    }

    /// How consumer `name` treats records (retries, dead letters).
    func handling(_ name: String) -> EventHandling {
        EventHandling(eventLog: eventLog, topics: topics, consumer: name, logger: logger)
    }
}

/// A role's routes and background work.
public struct CommerceParts: Sendable {
    public var routes: [any APIRoutes] = []
    public var workers: [any Service] = []

    public init() {}

    mutating func add(_ other: CommerceParts) {
        routes += other.routes
        workers += other.workers
    }
}

/// Every commerce role the settings name, each from its own build function.
public func buildCommerce(_ context: CommerceContext) throws -> CommerceParts {
    let roles = context.settings.roles
    var parts = CommerceParts()
    if roles.contains(.users) { parts.add(buildUsers(context)) }
    if roles.contains(.products) { parts.add(buildProducts(context)) }
    if roles.contains(.carts) { parts.add(buildCarts(context)) }
    if roles.contains(.orders) { parts.add(buildOrders(context)) }
    if roles.contains(.payments) { parts.add(buildPayments(context)) }
    if roles.contains(.notifications) { parts.add(try buildNotifications(context)) }
    // What the roles here answer for the other roles' processes in split mode.
    parts.routes.append(
        InternalRoutes(
            products: roles.contains(.products) ? ProductStore(store: context.store) : nil,
            carts: roles.contains(.carts) ? CartStore(store: context.store) : nil,
            users: roles.contains(.users) ? UserStore(store: context.store) : nil))
    return parts
}

/// The users role: registration, login, profiles.
public func buildUsers(_ context: CommerceContext) -> CommerceParts {
    var parts = CommerceParts()
    let accounts = context.accounts
    parts.routes.append(
        UsersController(
            users: UserStore(store: context.store), tokens: context.tokens, configuration: context.settings.users,
            logger: context.logger, onAccountChange: { accounts?.forget($0) }))
    return parts
}

/// Who answers "is this account still enabled?" for the authentication of this process: the users role's
/// own table when it runs here, else the users service over HTTP; cached for `auth.accountCacheSeconds`.
func buildAccountStatus(settings: MeridianSettings, store: (any SQLStore)?, tokens: TokenService) -> CachedAccountStatus? {
    let upstream: any AccountStatus
    if settings.roles.contains(.users), let store {
        upstream = StoreAccountStatus(users: UserStore(store: store))
    } else if let url = settings.serviceURLs[.users] {
        upstream = HTTPAccountStatus(client: ServiceClient(name: "users", baseURL: url, tokens: tokens))
    } else {
        return nil
    }
    return CachedAccountStatus(upstream: upstream, ttl: settings.accountCheckInterval)
}

/// The users table as the authentication of this process asks it.
struct StoreAccountStatus: AccountStatus {
    let users: UserStore

    func isActive(_ userID: String) async throws -> Bool {
        guard let user = try await users.find(id: UserID(rawValue: userID)) else { return false }
        return !user.disabled
    }
}

/// The products role: the catalog, its outbox, the consumer that ends reservations, and the sweeper
/// that releases reservations no order ended.
public func buildProducts(_ context: CommerceContext) -> CommerceParts {
    let products = ProductStore(store: context.store)
    var parts = CommerceParts()
    parts.routes.append(ProductsController(products: products, topics: context.topics, logger: context.logger))
    parts.workers.append(context.relay("products"))
    let handler = OrderOutcomeHandler(products: products, handling: context.handling("products"), logger: context.logger)
    parts.workers.append(context.consumer("products", topics: [context.topics.orders], handler: handler.handle))
    let grace = context.settings.reservationGrace.timeInterval
    parts.workers.append(
        PeriodicService(name: "reservation-sweeper", interval: .seconds(30), logger: context.logger, ready: context.ready) {
            let released = try await products.releaseExpired(before: Date().addingTimeInterval(-grace))
            if released > 0 {
                context.logger.warning("released reservations no order ended", metadata: ["orders": "\(released)"])
            }
        })
    return parts
}

/// The carts role: the user's cart, and the consumer of `product.deleted` and `orders`.
public func buildCarts(_ context: CommerceContext) -> CommerceParts {
    let carts = CartStore(store: context.store)
    var parts = CommerceParts()
    parts.routes.append(CartsController(carts: carts, catalog: catalog(context), logger: context.logger))
    let handler = CartEventHandler(carts: carts, handling: context.handling("carts"), logger: context.logger)
    parts.workers.append(
        context.consumer("carts", topics: [context.topics.productDeleted, context.topics.orders], handler: handler.handle))
    return parts
}

/// The orders role: placing and reading orders, its outbox, the consumer of payment outcomes, the sweeper.
public func buildOrders(_ context: CommerceContext) -> CommerceParts {
    let orders = OrderStore(store: context.store, topics: context.topics)
    let metrics = OrderMetrics(factory: context.metrics)
    var parts = CommerceParts()
    parts.routes.append(
        OrdersController(
            orders: orders, catalog: catalog(context), carts: cartContents(context),
            configuration: context.settings.orders, metrics: metrics, logger: context.logger))
    parts.workers.append(context.relay("orders"))
    let saga = OrderSaga(orders: orders, handling: context.handling("orders"), metrics: metrics, logger: context.logger)
    parts.workers.append(
        context.consumer("orders", topics: OrderSaga.paymentTopics(context.topics), handler: saga.handlePaymentOutcomes))
    parts.workers.append(
        PeriodicService(
            name: "orders-sweeper", interval: context.settings.ordersSweepInterval, logger: context.logger,
            ready: context.ready
        ) { try await saga.sweep() })
    return parts
}

/// The payments role: the simulated provider behind the consumer of `payment.requested` and `order.cancelled`.
public func buildPayments(_ context: CommerceContext) -> CommerceParts {
    let payments = PaymentStore(store: context.store, topics: context.topics)
    let processor = PaymentProcessor(
        payments: payments, provider: SimulatedPaymentProvider(configuration: context.settings.payments),
        handling: context.handling("payments"), metrics: PaymentMetrics(factory: context.metrics), logger: context.logger)
    var parts = CommerceParts()
    parts.routes.append(PaymentsController(payments: payments))
    parts.workers.append(context.relay("payments"))
    parts.workers.append(
        context.consumer("payments", topics: [context.topics.paymentRequested], handler: processor.handleRequests))
    parts.workers.append(
        context.consumer("payments-cancellations", topics: [context.topics.orders], handler: processor.handleOrderEvents))
    return parts
}

/// The notifications role: the consumer of `orders` that renders, records and delivers messages.
public func buildNotifications(_ context: CommerceContext) throws -> CommerceParts {
    let settings = context.settings.notifications
    let notifications = NotificationStore(store: context.store)
    let channel: any NotificationChannel
    switch settings.channel {
    case .log: channel = LogChannel(logger: context.logger)
    case .webhook: channel = WebhookChannel(url: settings.webhookURL)
    case .smtp:
        channel = SMTPChannel(client: SMTPClient(host: settings.smtpHost, port: settings.smtpPort), from: settings.smtpFrom)
    }
    let notifier = Notifier(
        notifications: notifications, channel: channel,
        templates: try NotificationTemplates(directory: settings.templatesDirectory),
        users: userDirectory(context), handling: context.handling("notifications"),
        configuration: settings.notifier, logger: context.logger)
    var parts = CommerceParts()
    parts.routes.append(NotificationsController(notifications: notifications))
    parts.workers.append(context.consumer("notifications", topics: [context.topics.orders], handler: notifier.handle))
    return parts
}

/// The users service as the notifications role of this process reaches it.
struct StoreUserDirectory: UserDirectory {
    let users: UserStore

    func contact(of user: String) async throws -> UserContact? {
        try await users.find(id: UserID(rawValue: user)).map { UserContact(name: $0.name, email: $0.email) }
    }
}

/// The products service as the other roles of this process reach it: in process, or over HTTP in split mode.
func catalog(_ context: CommerceContext) -> any ProductCatalog {
    if !context.settings.roles.contains(.products), let url = context.settings.serviceURLs[.products] {
        return HTTPProductCatalog(client: ServiceClient(name: "products", baseURL: url, tokens: context.tokens))
    }
    return StoreProductCatalog(products: ProductStore(store: context.store))
}

/// The carts service as the orders role reaches it.
func cartContents(_ context: CommerceContext) -> any CartContents {
    if !context.settings.roles.contains(.carts), let url = context.settings.serviceURLs[.carts] {
        return HTTPCartContents(client: ServiceClient(name: "carts", baseURL: url, tokens: context.tokens))
    }
    return StoreCartContents(carts: CartStore(store: context.store))
}

/// The users service as the notifications role reaches it.
func userDirectory(_ context: CommerceContext) -> any UserDirectory {
    if !context.settings.roles.contains(.users), let url = context.settings.serviceURLs[.users] {
        return HTTPUserDirectory(client: ServiceClient(name: "users", baseURL: url, tokens: context.tokens))
    }
    return StoreUserDirectory(users: UserStore(store: context.store))
}

/// The carts service as the orders role of this process reaches it.
struct StoreCartContents: CartContents {
    let carts: CartStore

    func lines(of user: String) async throws -> [StockRequest] {
        try await carts.lines(of: user).map { StockRequest(productID: $0.product, quantity: $0.quantity) }
    }
}
