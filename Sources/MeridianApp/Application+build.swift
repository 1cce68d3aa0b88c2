import AsyncHTTPClient
import Foundation
import Hummingbird
import Logging
import MeridianAuth
import MeridianContracts
import MeridianCore
import MeridianEventLog
import MeridianFileObjects
import MeridianGateway
import MeridianHTTP
import MeridianIngest
import MeridianKafka
import MeridianMessaging
import MeridianSQLite
import MeridianServiceClients
import MeridianStorage
import Metrics
import Prometheus
import ServiceLifecycle
import UnixSignals

/// An event log adapter together with its lifecycle.
public typealias EventLogService = any EventLog & Service

/// Opens the event log the settings name: the embedded SQLite log or Kafka.
public func buildEventLog(
    settings: MeridianSettings,
    logger: Logger,
    metrics: any MetricsFactory
) async throws -> EventLogService {
    switch settings.eventLog {
    case .embedded:
        return try await EmbeddedEventLog.open(configuration: settings.embedded, logger: logger)
    case .kafka:
        return try KafkaEventLog(
            configuration: settings.kafka, logger: logger, metrics: metrics, flushTimeout: settings.shutdownTimeout)
    }
}

/// The ingestor role, assembled from the event log port.
public func buildIngestor(
    settings: MeridianSettings,
    eventLog: any EventLog,
    logger: Logger,
    metrics: any MetricsFactory
) throws -> Ingestor {
    try Ingestor(
        eventLog: eventLog,
        topics: settings.topics,
        configuration: settings.ingest,
        logger: logger,
        metrics: metrics)
}

/// What `meridian serve` runs: the HTTP application and the services around it.
public struct MeridianApplication: Sendable {
    public var settings: MeridianSettings
    public var eventLog: EventLogService
    public var store: SQLStoreService?
    /// The roles' background work: outbox relays, event consumers, sweepers.
    public var workers: [any Service] = []
    public var ingestor: Ingestor?
    /// The commerce roles' APIs (the router has them; kept to list the routes).
    public var routes: [any APIRoutes] = []
    public var http: Application<RouterResponder<MeridianRequestContext>>
    /// The span exporter when `tracing.enabled` (``bootstrapTracing(_:version:logger:)``).
    public var tracing: (any Service)?

    /// Services in start order; graceful shutdown runs in reverse: first draining (readiness 503,
    /// new events 503, in-flight events finish), then the HTTP server, then the workers, then the store
    /// and the event log, and last the span exporter, which flushes what they recorded.
    public var services: [any Service] {
        var services: [any Service] = tracing.map { [$0] } ?? []
        services.append(eventLog)
        if let store { services.append(store) }
        services += workers
        services.append(http)
        if let ingestor { services.append(DrainService(ingestor: ingestor)) }
        return services
    }

    /// Runs every service until SIGTERM or SIGINT, then shuts down gracefully within the timeout.
    public func run(logger: Logger) async throws {
        try await serviceGroup(logger: logger).run()
    }

    /// The service group of ``services``, stopped by SIGTERM or SIGINT (or by `triggerGracefulShutdown()`).
    public func serviceGroup(logger: Logger, signals: [UnixSignal] = [.sigterm, .sigint]) -> ServiceGroup {
        var configuration = ServiceGroupConfiguration(
            services: services.map { ServiceGroupConfiguration.ServiceConfiguration(service: $0) },
            gracefulShutdownSignals: signals,
            logger: logger)
        configuration.maximumGracefulShutdownDuration = settings.shutdownTimeout
        configuration.maximumCancellationDuration = .seconds(5)
        return ServiceGroup(configuration: configuration)
    }
}

/// Assembles every role the settings name, in one process, from the same build functions that a
/// one-role process uses.
public func buildApplication(
    settings: MeridianSettings,
    logger: Logger,
    registry: PrometheusCollectorRegistry,
    metrics: any MetricsFactory,
    onServerRunning: @escaping @Sendable (Int) async -> Void = { _ in }
) async throws -> MeridianApplication {
    let eventLog = try await buildEventLog(settings: settings, logger: logger, metrics: metrics)
    var store: SQLStoreService?
    do {
        return try await assemble(
            settings: settings, eventLog: eventLog, opened: &store, logger: logger, registry: registry, metrics: metrics,
            onServerRunning: onServerRunning)
    } catch {
        // Nothing that was opened outlives a failed start.
        try? await store?.close()
        if let closable = eventLog as? any ClosableEventLog { await closable.close() }
        throw error
    }
}

/// The rest of ``buildApplication(settings:logger:registry:metrics:onServerRunning:)`` once the event log is open;
/// `opened` gets the store as soon as it is open, so a failure after it can close it.
private func assemble(
    settings: MeridianSettings,
    eventLog: EventLogService,
    opened: inout SQLStoreService?,
    logger: Logger,
    registry: PrometheusCollectorRegistry,
    metrics: any MetricsFactory,
    onServerRunning: @escaping @Sendable (Int) async -> Void
) async throws -> MeridianApplication {
    var ingestor: Ingestor?
    if settings.roles.contains(.ingestor) {
        ingestor = try buildIngestor(settings: settings, eventLog: eventLog, logger: logger, metrics: metrics)
    }
    var store: SQLStoreService?
    var tokens: TokenService?
    var commerce = CommerceParts()
    let migrated = StartupGate()
    let storeRoles: Set<MeridianSettings.Role> = [
        .users, .products, .carts, .orders, .payments, .notifications, .ingestJobs, .analytics,
    ]
    if settings.roles.contains(.gateway) || settings.roles.contains(where: storeRoles.contains) {
        tokens = try await buildTokens(settings: settings, logger: logger)
    }
    var accounts: CachedAccountStatus?
    // Calls to the roles of other processes (split mode) share one HTTP client, stopped with the process.
    let serviceHTTP = settings.serviceURLs.isEmpty ? nil : ServiceClient.makeHTTPClient(settings.serviceCalls)
    var services: [any Service] = serviceHTTP.map { [HTTPClientService(client: $0)] } ?? []
    var objects: (any ObjectStore)?
    if settings.usesObjects {
        do {
            objects = try settings.objects.makeStore()
        } catch {
            throw StartupError(.cannotCreate, "cannot open the object store: \(error) (objects.url)")
        }
    }
    if let tokens, settings.roles.contains(where: storeRoles.contains) {
        let sqlStore = try await buildStore(settings: settings, logger: logger)
        opened = sqlStore
        store = sqlStore
        accounts = buildAccountStatus(settings: settings, store: sqlStore, tokens: tokens, serviceHTTP: serviceHTTP)
        commerce = try buildCommerce(
            CommerceContext(
                settings: settings, store: sqlStore, eventLog: eventLog, tokens: tokens, metrics: metrics, logger: logger,
                accounts: accounts, serviceHTTP: serviceHTTP, ready: migrated.wait, objects: objects))
    } else if let tokens {
        accounts = buildAccountStatus(settings: settings, store: nil, tokens: tokens, serviceHTTP: serviceHTTP)
    }
    services += commerce.workers
    if settings.roles.contains(.images), let objects {
        services.append(try buildImages(settings: settings, eventLog: eventLog, objects: objects, logger: logger))
    }
    if let embedded = eventLog as? EmbeddedEventLog {
        services.append(
            ConsumerLagReporter(
                log: embedded, interval: .milliseconds(max(settings.kafka.statisticsIntervalMilliseconds, 1_000)),
                factory: metrics, logger: logger))
    }
    if let files = objects as? FileObjectStore {
        // The local files' presigned URLs and public variants point at this server.
        commerce.routes.append(
            ObjectRoutes(store: files, uploadBytes: settings.images.maxUploadBytes))
    }
    var proxy: ServiceProxyMiddleware?
    if settings.roles.contains(.gateway), let serviceHTTP, let tokens {
        proxy = ServiceProxyMiddleware(
            routes: gatewayRoutes(settings), maxBody: 16 * 1_048_576, http: serviceHTTP,
            requestTimeout: settings.serviceCalls.requestTimeout, retryBackoff: settings.serviceCalls.retryBackoff,
            proof: { try await tokens.issue(for: .service("gateway")) })
    }
    let router = buildRouter(
        eventLog: eventLog, ingestor: ingestor, registry: registry, metrics: metrics, tokens: tokens, store: store,
        migrated: store == nil ? nil : migrated, routes: commerce.routes, proxy: proxy, gateway: settings.gateway,
        corsOrigin: settings.corsOrigin, limits: settings.limits, trustedProxies: settings.trustedProxies,
        accounts: accounts, tracing: settings.tracing.enabled)
    var http = Application(
        router: router,
        server: .http1(configuration: .init(additionalChannelHandlers: [ParserErrorHandler()])),
        configuration: .init(address: .hostname(settings.host, port: settings.port), serverName: "meridian"),
        onServerRunning: { channel in await onServerRunning(channel.localAddress?.port ?? 0) },
        logger: logger)
    // The event log and the store run as services: the topics and the migrations come once they started,
    // before the server.
    let migratedStore = store
    http.beforeServerStarts {
        await prepareTopics(eventLog, settings: settings, logger: logger)
        guard let store = migratedStore else { return }
        do {
            for applied in try await migrate(store, roles: settings.roles) {
                logger.info("migration applied", metadata: ["migration": "\(applied)"])
            }
        } catch {
            throw StartupError(
                .unavailable, "cannot migrate the database \(redacted(settings.storageURL)): \(error) (storage.url)")
        }
        migrated.open()
    }
    return MeridianApplication(
        settings: settings, eventLog: eventLog, store: store, workers: services, ingestor: ingestor,
        routes: commerce.routes, http: http)
}

/// Creates the contract topics that are missing; unreachable Kafka brokers are one warning, not a failure
/// (appends wait and are retried until the brokers answer).
func prepareTopics(_ eventLog: any EventLog, settings: MeridianSettings, logger: Logger) async {
    if settings.eventLog == .kafka, !(await eventLog.isReachable()) {
        // One line instead of every client's connection errors.
        logger.warning(
            "Kafka brokers unreachable: events wait and are retried until they answer (kafka.brokers, MERIDIAN_KAFKA_BROKERS)",
            metadata: ["kafka_brokers": .string(settings.kafka.brokers)])
        return
    }
    do {
        try await eventLog.createTopics(settings.topics.all.map { TopicSpec(name: $0, partitions: settings.topicPartitions) })
    } catch {
        logger.warning("could not create the contract topics", metadata: ["error": "\(error)"])
    }
}

/// The routes of the roles present, with the middleware and endpoints every role shares.
public func buildRouter(
    eventLog: any EventLog,
    ingestor: Ingestor?,
    registry: PrometheusCollectorRegistry,
    metrics: any MetricsFactory,
    tokens: TokenService? = nil,
    store: (any SQLStore)? = nil,
    migrated: StartupGate? = nil,
    routes: [any APIRoutes] = [],
    proxy: ServiceProxyMiddleware? = nil,
    gateway: RateLimitMiddleware.Configuration = .init(),
    corsOrigin: String = "",
    limits: RequestLimits = .init(),
    trustedProxies: [CIDR] = [],
    accounts: (any AccountStatus)? = nil,
    tracing: Bool = false
) -> Router<MeridianRequestContext> {
    let router = Router(context: MeridianRequestContext.self)
    if tracing {
        // Outermost: the server span (a child of the caller's `traceparent`) covers the whole answer, and every
        // handler, outbox write and outgoing call below runs in its context.
        router.add(middleware: RequestTracingMiddleware())
    }
    router.add(middleware: RequestIDMiddleware())
    router.add(middleware: HTTPMetricsMiddleware(factory: metrics))
    router.add(middleware: SecurityHeadersMiddleware())
    router.add(middleware: ProblemMiddleware())
    router.add(middleware: RequestLimitsMiddleware(limits: limits))
    router.add(middleware: ClientAddressMiddleware(resolver: ClientAddressResolver(trustedProxies: trustedProxies)))
    if !corsOrigin.isEmpty {
        router.add(
            middleware: CORSMiddleware(
                allowOrigin: corsOrigin == "*" ? .all : .custom(corsOrigin),
                allowHeaders: [.accept, .authorization, .contentType, .origin, .requestID],
                allowMethods: [.get, .post, .put, .patch, .delete, .options], maxAge: .seconds(600)))
    }
    if let tokens {
        router.add(middleware: GatewayIdentityMiddleware(tokens: tokens))
        router.add(middleware: AuthenticationMiddleware(tokens: tokens, accounts: accounts))
        router.add(middleware: RateLimitMiddleware(configuration: gateway))
    }
    if let proxy {
        router.add(middleware: proxy)
    }

    for api in platformRoutes(
        eventLog: eventLog, ingestor: ingestor, registry: registry, metrics: metrics, store: store, migrated: migrated,
        upstreams: Dictionary((proxy?.routes ?? []).map { ($0.service, $0.baseURL) }, uniquingKeysWith: { first, _ in first }),
        roles: routes)
    {
        api.addRoutes(to: router)
    }
    return router
}

/// Shuts the HTTP client of calls between services down once the process stops.
struct HTTPClientService: Service {
    let client: HTTPClient

    func run() async throws {
        try? await gracefulShutdown()
        try await client.shutdown()
    }
}

/// On graceful shutdown: stop admitting events and wait for those in flight.
struct DrainService: Service {
    let ingestor: Ingestor

    func run() async throws {
        try? await gracefulShutdown()
        let logger = Logger(label: "meridian.shutdown")
        logger.info("draining: refusing new events", metadata: ["inflight": .stringConvertible(ingestor.inflightEvents)])
        await ingestor.drain()
        logger.info("drained: every admitted event has its answer")
    }
}
