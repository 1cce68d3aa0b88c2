import AsyncHTTPClient
import Foundation
import Logging
import MeridianAuth
import MeridianCarts
import MeridianContracts
import MeridianCore
import MeridianHTTP
import MeridianMessaging
import MeridianNotifications
import MeridianOrders
import MeridianPayments
import MeridianProducts
import MeridianServiceClients
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
    /// The HTTP client for calls to the roles of other processes (split mode).
    public var serviceHTTP: HTTPClient?
    /// Awaited by the workers before they start (until the migrations ran).
    public var ready: @Sendable () async -> Void
    /// The object store (product images), where a role of this process uses it.
    public var objects: (any ObjectStore)?

    public init(
        settings: MeridianSettings, store: any SQLStore, eventLog: any EventLog, tokens: TokenService,
        metrics: any MetricsFactory, logger: Logger, accounts: CachedAccountStatus? = nil, serviceHTTP: HTTPClient? = nil,
        ready: @escaping @Sendable () async -> Void = {}, objects: (any ObjectStore)? = nil
    ) {
        self.settings = settings
        self.store = store
        self.eventLog = eventLog
        self.tokens = tokens
        self.metrics = metrics
        self.logger = logger
        self.accounts = accounts
        self.serviceHTTP = serviceHTTP
        self.ready = ready
        self.objects = objects
    }

    /// A client of the `role` service at its configured URL.
    func client(_ role: MeridianSettings.Role) -> ServiceClient? {
        guard let url = settings.serviceURLs[role], let serviceHTTP else { return nil }
        return ServiceClient(
            name: role.rawValue, baseURL: url, tokens: tokens, http: serviceHTTP, configuration: settings.serviceCalls)
    }

    var topics: Topics { settings.topics }

    /// The outbox relay of `service`.
    func relay(_ service: String) -> OutboxRelay {
        OutboxRelay(
            store: store, eventLog: eventLog, service: service, topics: topics, logger: logger, metrics: metrics, ready: ready)
    }

    /// A consumer group of `group` over `topics`, handing each event to `handle`.
    func consumer(
        _ group: String, topics: [String], handle: @escaping @Sendable (CloudEvent) async throws -> Void
    ) -> ConsumerService {
        ConsumerService(
            eventLog: eventLog, options: ConsumerOptions(group: group, topics: topics),
            handling: EventHandling(eventLog: eventLog, topics: self.topics, consumer: group, logger: logger),
            logger: logger, ready: ready, handle: handle)
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
    if roles.contains(.ingestJobs) { parts.add(buildIngestJobs(context)) }
    if roles.contains(.analytics) { parts.add(try buildAnalytics(context)) }
    // What the roles here answer for the roles of other processes in split mode, and only that.
    parts.routes.append(internalRoutes(context))
    return parts
}

/// The users role: registration, login, profiles.
public func buildUsers(_ context: CommerceContext) -> CommerceParts {
    var parts = CommerceParts()
    let accounts = context.accounts
    parts.routes.append(
        UsersController(
            users: SQLUserStore(store: context.store), tokens: context.tokens, configuration: context.settings.users,
            logger: context.logger, onAccountChange: { accounts?.forget($0) }))
    return parts
}

/// Who answers "is this account still enabled?" for the authentication of this process: the users role's
/// own table when it runs here, else the users service over HTTP; cached for `auth.accountCacheSeconds`.
func buildAccountStatus(
    settings: MeridianSettings, store: (any SQLStore)?, tokens: TokenService, serviceHTTP: HTTPClient?
) -> CachedAccountStatus? {
    let upstream: any AccountStatus
    if settings.roles.contains(.users), let store {
        upstream = StoreUserDirectory(users: SQLUserStore(store: store))
    } else if let url = settings.serviceURLs[.users], let serviceHTTP {
        upstream = HTTPUserDirectory(
            client: ServiceClient(
                name: "users", baseURL: url, tokens: tokens, http: serviceHTTP, configuration: settings.serviceCalls))
    } else {
        return nil
    }
    return CachedAccountStatus(upstream: upstream, ttl: settings.accountCheckInterval)
}

/// The products role: the catalog and its images, its outbox, the consumers that end reservations and record
/// processed images, and the sweeper that releases reservations no order ended.
public func buildProducts(_ context: CommerceContext) -> CommerceParts {
    let products = SQLProductStore(store: context.store)
    var parts = CommerceParts()
    var images: ProductImageAccess?
    if let objects = context.objects {
        images = ProductImageAccess(
            images: products, objects: objects, maxUploadBytes: context.settings.images.maxUploadBytes,
            variantURL: ObjectsSettings.variantURL(in: objects))
        let recorder = ProductImageEventsHandler(images: products, objects: objects, logger: context.logger)
        parts.workers.append(
            context.consumer(
                "products-images", topics: [context.topics.productImagesProcessed], handle: recorder.handle))
    }
    parts.routes.append(
        ProductsController(products: products, topics: context.topics, logger: context.logger, images: images))
    parts.workers.append(context.relay("products"))
    let handler = OrderOutcomeHandler(products: products, logger: context.logger)
    parts.workers.append(context.consumer("products", topics: [context.topics.orders], handle: handler.handle))
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
    let carts = SQLCartStore(store: context.store)
    var parts = CommerceParts()
    parts.routes.append(CartsController(carts: carts, catalog: catalog(context), logger: context.logger))
    let handler = CartEventHandler(carts: carts, logger: context.logger)
    parts.workers.append(
        context.consumer("carts", topics: [context.topics.productDeleted, context.topics.orders], handle: handler.handle))
    return parts
}

/// The orders role: placing and reading orders, its outbox, the consumer of payment outcomes, the sweeper.
public func buildOrders(_ context: CommerceContext) -> CommerceParts {
    let orders = SQLOrderStore(store: context.store, topics: context.topics)
    let metrics = OrderMetrics(factory: context.metrics)
    // The saga signals each order it moves on; requests with `Prefer: wait` wake up on it.
    let updates = KeyedSignal<OrderID, Order>()
    var parts = CommerceParts()
    parts.routes.append(
        OrdersController(
            orders: orders, catalog: catalog(context), carts: cartContents(context), updates: updates,
            configuration: context.settings.orders, metrics: metrics, logger: context.logger))
    parts.workers.append(context.relay("orders"))
    let saga = OrderSaga(orders: orders, updates: updates, metrics: metrics, logger: context.logger)
    parts.workers.append(
        context.consumer("orders", topics: OrderSaga.paymentTopics(context.topics), handle: saga.handlePaymentOutcome))
    parts.workers.append(
        PeriodicService(
            name: "orders-sweeper", interval: context.settings.ordersSweepInterval, logger: context.logger,
            ready: context.ready
        ) { try await saga.sweep() })
    return parts
}

/// The payments role: the simulated provider behind the consumer of `payment.requested` and `order.cancelled`.
public func buildPayments(_ context: CommerceContext) -> CommerceParts {
    let payments = SQLPaymentStore(store: context.store, topics: context.topics)
    let processor = PaymentProcessor(
        payments: payments, provider: SimulatedPaymentProvider(configuration: context.settings.payments),
        metrics: PaymentMetrics(factory: context.metrics), logger: context.logger)
    var parts = CommerceParts()
    parts.routes.append(PaymentsController(payments: payments))
    parts.workers.append(context.relay("payments"))
    parts.workers.append(
        context.consumer("payments", topics: [context.topics.paymentRequested], handle: processor.handleRequest))
    parts.workers.append(
        context.consumer("payments-cancellations", topics: [context.topics.orders], handle: processor.handleOrderEvent))
    return parts
}

/// The notifications role: the consumer of `orders` that renders, records and delivers messages.
public func buildNotifications(_ context: CommerceContext) throws -> CommerceParts {
    let settings = context.settings.notifications
    let notifications = SQLNotificationStore(store: context.store)
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
        users: userDirectory(context), configuration: settings.notifier, logger: context.logger)
    var parts = CommerceParts()
    parts.routes.append(NotificationsController(notifications: notifications))
    parts.workers.append(context.consumer("notifications", topics: [context.topics.orders], handle: notifier.handle))
    return parts
}

/// The `/internal` routes of the ports the roles here offer to roles that run elsewhere: none in all-in-one
/// mode, where every caller is in process.
func internalRoutes(_ context: CommerceContext) -> InternalRoutes {
    let roles = Set(context.settings.roles)
    let store = context.store
    var routes = InternalRoutes()
    if roles.contains(.products), !roles.isSuperset(of: [.carts, .orders]) {
        routes.catalog = StoreProductCatalog(products: SQLProductStore(store: store))
    }
    if roles.contains(.carts), !roles.contains(.orders) {
        routes.carts = StoreCartContents(carts: SQLCartStore(store: store))
    }
    let usersCallers: Set<MeridianSettings.Role> = [.gateway, .products, .carts, .orders, .payments, .notifications]
    if roles.contains(.users), !roles.isSuperset(of: usersCallers) {
        routes.users = StoreUserDirectory(users: SQLUserStore(store: store))
    }
    return routes
}

/// The products service as the other roles of this process reach it: in process, or over HTTP in split mode.
func catalog(_ context: CommerceContext) -> any ProductCatalog {
    if !context.settings.roles.contains(.products), let client = context.client(.products) {
        return HTTPProductCatalog(client: client)
    }
    return StoreProductCatalog(products: SQLProductStore(store: context.store))
}

/// The carts service as the orders role reaches it.
func cartContents(_ context: CommerceContext) -> any CartContents {
    if !context.settings.roles.contains(.carts), let client = context.client(.carts) {
        return HTTPCartContents(client: client)
    }
    return StoreCartContents(carts: SQLCartStore(store: context.store))
}

/// The users service as the notifications role reaches it.
func userDirectory(_ context: CommerceContext) -> any UserDirectory {
    if !context.settings.roles.contains(.users), let client = context.client(.users) {
        return HTTPUserDirectory(client: client)
    }
    return StoreUserDirectory(users: SQLUserStore(store: context.store))
}
