// swift-tools-version: 6.1
import PackageDescription

let swiftSettings: [SwiftSetting] = [
    .enableUpcomingFeature("ExistentialAny"),
    .enableUpcomingFeature("MemberImportVisibility"),
]

let package = Package(
    name: "meridian",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "meridian", targets: ["meridian"])
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-collections.git", from: "1.6.0"),
        .package(url: "https://github.com/apple/swift-configuration.git", from: "1.4.0"),
        .package(url: "https://github.com/apple/swift-http-types.git", from: "1.8.0"),
        .package(url: "https://github.com/apple/swift-log.git", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-metrics.git", from: "2.13.0"),
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.101.2"),
        .package(url: "https://github.com/apple/swift-nio-ssl.git", from: "2.37.6"),
        .package(url: "https://github.com/apple/swift-nio-extras.git", from: "1.35.2"),
        // No package traits: with two enabled, SwiftPM orders their -D flags differently from one run to the next
        // and rebuilds Hummingbird and everything above it (about 115 files) although nothing changed.
        .package(url: "https://github.com/hummingbird-project/hummingbird.git", from: "2.28.1", traits: []),
        .package(url: "https://github.com/swift-server/swift-prometheus.git", from: "2.4.1"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle.git", from: "2.13.0"),
        .package(url: "https://github.com/vapor/sqlite-nio.git", from: "1.13.2"),
        .package(url: "https://github.com/vapor/sql-kit.git", from: "3.36.0"),
        .package(url: "https://github.com/vapor/postgres-kit.git", from: "2.17.0"),
        .package(url: "https://github.com/vapor/postgres-nio.git", from: "1.33.2"),
        .package(url: "https://github.com/vapor/jwt-kit.git", from: "5.8.0"),
        .package(url: "https://github.com/hummingbird-project/hummingbird-auth.git", from: "2.5.0"),
        .package(url: "https://github.com/HdrHistogram/hdrhistogram-swift.git", from: "0.2.0"),
        .package(url: "https://github.com/hummingbird-project/swift-mustache.git", from: "2.1.1"),
        .package(url: "https://github.com/swift-server/async-http-client.git", from: "1.37.0"),
        .package(url: "https://github.com/apple/swift-crypto.git", from: "4.5.2"),
        .package(url: "https://github.com/apple/swift-distributed-tracing.git", from: "1.7.3"),
        // OTLP over HTTP only: the gRPC exporter's trait would build grpc-swift and its transport as well.
        .package(url: "https://github.com/swift-otel/swift-otel.git", from: "1.6.0", traits: ["OTLPHTTP"]),
    ],
    targets: [
        // MARK: Core and contracts (no I/O)

        /// librdkafka from Debian's `librdkafka-dev`, including the mock cluster API.
        .systemLibrary(
            name: "CRDKafka",
            pkgConfig: "rdkafka",
            providers: [.apt(["librdkafka-dev"])]
        ),
        /// jemalloc, the process's allocator (apt: libjemalloc-dev): glibc's malloc serialises the threads of a
        /// busy server on its arena locks (docs/benchmarks.md).
        .systemLibrary(
            name: "CJemalloc",
            pkgConfig: "jemalloc",
            providers: [.apt(["libjemalloc-dev"])]
        ),
        /// libvips (apt: libvips-dev), with inline functions that fix the optional arguments of the operations the
        /// image function uses (Swift cannot call C varargs).
        .systemLibrary(
            name: "CVips",
            pkgConfig: "vips",
            providers: [.apt(["libvips-dev"])]
        ),
        /// SQLite's C API, for the store's connections (apt: libsqlite3-dev).
        .systemLibrary(
            name: "CSQLite",
            pkgConfig: "sqlite3",
            providers: [.apt(["libsqlite3-dev"])]
        ),
        /// The domain core: CloudEvents, the event-log port, admission, input rules. No I/O imports.
        .target(
            name: "MeridianCore",
            dependencies: [
                .product(name: "DequeModule", package: "swift-collections"),
                // The W3C trace context of a record's headers (ServiceContext and the propagation API; no I/O).
                .product(name: "Instrumentation", package: "swift-distributed-tracing"),
            ],
            swiftSettings: swiftSettings
        ),
        /// What the roles share and nothing else: ids, the commerce events (type, topic, data) and the ports one
        /// role offers another. No I/O imports.
        .target(
            name: "MeridianContracts",
            dependencies: ["MeridianCore"],
            swiftSettings: swiftSettings
        ),

        // MARK: Adapters

        /// The embedded, durable event log on SQLite (the default adapter of the event log port).
        .target(
            name: "MeridianEventLog",
            dependencies: [
                .product(name: "NIOCore", package: "swift-nio"),
                "MeridianCore",
                .product(name: "SQLiteNIO", package: "sqlite-nio"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: swiftSettings
        ),
        /// Kafka adapter of the event log port: a Swift wrapper over librdkafka.
        .target(
            name: "MeridianKafka",
            dependencies: [
                "MeridianCore",
                "CRDKafka",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: swiftSettings
        ),
        /// The SQL storage port (`SQLStore`), migrations, the transactional outbox and the inbox. Links no driver.
        .target(
            name: "MeridianStorage",
            dependencies: [
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                "MeridianCore",
                .product(name: "SQLKit", package: "sql-kit"),
            ],
            swiftSettings: swiftSettings
        ),
        /// The SQLite adapter of the storage port (the embedded default): WAL, group commit.
        .target(
            name: "MeridianSQLite",
            dependencies: [
                "CSQLite",
                "MeridianCore",
                "MeridianStorage",
                .product(name: "SQLKit", package: "sql-kit"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: swiftSettings
        ),
        /// The local-files adapter of the object storage port (the embedded default): atomic puts, presigned URLs
        /// that Meridian serves.
        .target(
            name: "MeridianFileObjects",
            dependencies: [
                "MeridianCore",
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "NIOPosix", package: "swift-nio"),
            ],
            swiftSettings: swiftSettings
        ),
        /// The S3-compatible adapter of the object storage port (AWS, GCS, Spaces, MinIO, Ceph): Signature V4 by hand
        /// over async-http-client.
        .target(
            name: "MeridianS3",
            dependencies: [
                "MeridianCore",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
            ],
            swiftSettings: swiftSettings
        ),
        /// Bulk CSV ingestion: resumable jobs that turn rows into events.
        .target(
            name: "MeridianIngestJobs",
            dependencies: [
                .product(name: "HTTPTypes", package: "swift-http-types"),
                "MeridianAuth",
                "MeridianCore",
                "MeridianHTTP",
                "MeridianStorage",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "SQLKit", package: "sql-kit"),
            ],
            swiftSettings: swiftSettings
        ),
        /// Streaming analytics: event-time windows as a state machine, the jobs as data, replay, the service, its sinks
        /// and its API.
        .target(
            name: "MeridianAnalytics",
            dependencies: [
                "MeridianAuth", "MeridianContracts", "MeridianCore", "MeridianHTTP", "MeridianStorage",
                .product(name: "Hummingbird", package: "hummingbird"), .product(name: "SQLKit", package: "sql-kit"),
                .product(name: "Logging", package: "swift-log"), .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: swiftSettings
        ),
        /// The image function's work without I/O: an upload's bytes to JPEG variants through libvips.
        .target(
            name: "MeridianImages",
            dependencies: [
                "CVips", "MeridianContracts", "MeridianCore", .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOPosix", package: "swift-nio"),
            ],
            swiftSettings: swiftSettings
        ),
        /// The PostgreSQL adapter of the storage port: postgres-nio's pool.
        .target(
            name: "MeridianPostgres",
            dependencies: [
                "MeridianCore",
                "MeridianStorage",
                .product(name: "SQLKit", package: "sql-kit"),
                .product(name: "PostgresKit", package: "postgres-kit"),
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: swiftSettings
        ),

        // MARK: Runtime every role shares

        /// The messaging runtime: how consumers treat records, consumer groups, outbox relays, sweepers, the
        /// start-up gate.
        .target(
            name: "MeridianMessaging",
            dependencies: [
                .product(name: "DequeModule", package: "swift-collections"),
                "MeridianCore",
                "MeridianStorage",
                .product(name: "SQLKit", package: "sql-kit"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Tracing", package: "swift-distributed-tracing"),
            ],
            swiftSettings: swiftSettings
        ),
        /// HTTP pieces every role shares: problem details, request ids, limits, HTTP metrics.
        .target(
            name: "MeridianHTTP",
            dependencies: [
                .product(name: "HTTPTypes", package: "swift-http-types"),
                "MeridianCore",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOHTTPTypes", package: "swift-nio-extras"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
            ],
            swiftSettings: swiftSettings
        ),
        /// Tokens (HS256 JWTs) and the authentication middleware every role's API uses.
        .target(
            name: "MeridianAuth",
            dependencies: [
                .product(name: "HTTPTypes", package: "swift-http-types"),
                "MeridianContracts",
                "MeridianCore",
                "MeridianHTTP",
                .product(name: "JWTKit", package: "jwt-kit"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: swiftSettings
        ),

        // MARK: Roles (siblings: each imports the contracts, storage and messaging, never another role)

        /// The gateway role: the edge's rate limits and the reverse proxy to the services in split mode.
        .target(
            name: "MeridianGateway",
            dependencies: [
                .product(name: "HTTPTypes", package: "swift-http-types"),
                "MeridianCore",
                "MeridianHTTP",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Tracing", package: "swift-distributed-tracing"),
            ],
            swiftSettings: swiftSettings
        ),
        /// The ingestor role: `POST /events` over HTTP into the event log.
        .target(
            name: "MeridianIngest",
            dependencies: [
                .product(name: "HTTPTypes", package: "swift-http-types"),
                "MeridianCore",
                "MeridianHTTP",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: swiftSettings
        ),
        /// The users role: registration, login, profiles, administration.
        .target(
            name: "MeridianUsers",
            dependencies: [
                .product(name: "HTTPTypes", package: "swift-http-types"),
                "MeridianAuth",
                "MeridianContracts",
                "MeridianCore",
                "MeridianHTTP",
                "MeridianMessaging",
                "MeridianStorage",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "SQLKit", package: "sql-kit"),
                .product(name: "HummingbirdBcrypt", package: "hummingbird-auth"),
                .product(name: "NIOPosix", package: "swift-nio"),
            ],
            swiftSettings: swiftSettings
        ),
        /// The products role: the catalog, stock and its reservations, `product.deleted`.
        .target(
            name: "MeridianProducts",
            dependencies: [
                .product(name: "HTTPTypes", package: "swift-http-types"),
                "MeridianAuth",
                "MeridianContracts",
                "MeridianCore",
                "MeridianHTTP",
                "MeridianMessaging",
                "MeridianStorage",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "SQLKit", package: "sql-kit"),
            ],
            swiftSettings: swiftSettings
        ),
        /// The carts role: the signed-in user's cart; removes lines of deleted products and ordered lines.
        .target(
            name: "MeridianCarts",
            dependencies: [
                .product(name: "HTTPTypes", package: "swift-http-types"),
                "MeridianAuth",
                "MeridianContracts",
                "MeridianCore",
                "MeridianHTTP",
                "MeridianMessaging",
                "MeridianStorage",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "SQLKit", package: "sql-kit"),
            ],
            swiftSettings: swiftSettings
        ),
        /// The orders role: placing orders, the order lifecycle, the orders side of the saga.
        .target(
            name: "MeridianOrders",
            dependencies: [
                .product(name: "HTTPTypes", package: "swift-http-types"),
                "MeridianAuth",
                "MeridianContracts",
                "MeridianCore",
                "MeridianHTTP",
                "MeridianMessaging",
                "MeridianStorage",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "SQLKit", package: "sql-kit"),
            ],
            swiftSettings: swiftSettings
        ),
        /// The payments role: a simulated provider behind `payment.requested`, one payment per order, refunds.
        .target(
            name: "MeridianPayments",
            dependencies: [
                "MeridianAuth",
                "MeridianContracts",
                "MeridianCore",
                "MeridianHTTP",
                "MeridianMessaging",
                "MeridianStorage",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "SQLKit", package: "sql-kit"),
            ],
            swiftSettings: swiftSettings
        ),
        /// The notifications role: messages about orders through log, webhook or SMTP, recorded per user.
        .target(
            name: "MeridianNotifications",
            dependencies: [
                "MeridianAuth",
                "MeridianContracts",
                "MeridianCore",
                "MeridianHTTP",
                "MeridianMessaging",
                "MeridianStorage",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "SQLKit", package: "sql-kit"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "Mustache", package: "swift-mustache"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
            ],
            swiftSettings: swiftSettings
        ),

        // MARK: Assembly

        /// How roles reach the roles of other processes in split mode: HTTP adapters of the contract ports and
        /// the `/internal` routes that serve them.
        .target(
            name: "MeridianServiceClients",
            dependencies: [
                .product(name: "HTTPTypes", package: "swift-http-types"),
                "MeridianAuth",
                "MeridianContracts",
                "MeridianCore",
                "MeridianHTTP",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
            ],
            swiftSettings: swiftSettings
        ),
        /// Assembly: settings, one build function per role, the service group. It only assembles.
        .target(
            name: "MeridianApp",
            dependencies: [
                .product(name: "HTTPTypes", package: "swift-http-types"),
                "MeridianAnalytics",
                "MeridianAuth",
                "MeridianCarts",
                "MeridianContracts",
                "MeridianCore",
                "MeridianEventLog",
                "MeridianFileObjects",
                "MeridianGateway",
                "MeridianHTTP",
                "MeridianImages",
                "MeridianIngestJobs",
                "MeridianIngest",
                "MeridianKafka",
                "MeridianMessaging",
                "MeridianNotifications",
                "MeridianOrders",
                "MeridianPayments",
                "MeridianPostgres",
                "MeridianProducts",
                "MeridianSQLite",
                "MeridianS3",
                "MeridianServiceClients",
                "MeridianStorage",
                "MeridianUsers",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "Configuration", package: "swift-configuration"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "OTel", package: "swift-otel"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "SQLKit", package: "sql-kit"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Tracing", package: "swift-distributed-tracing"),
                .product(name: "UnixSignals", package: "swift-service-lifecycle"),
            ],
            // The OpenAPI document served at /openapi.json (generated from docs/openapi.yaml by `make openapi`),
            // embedded in the binary: one file to ship, nothing to find at run time.
            resources: [.embedInCode("Resources/openapi.json")],
            swiftSettings: swiftSettings
        ),
        /// The built-in load generator behind `meridian bench`.
        .target(
            name: "MeridianBench",
            dependencies: [
                "CVips",
                "MeridianAnalytics",
                "MeridianContracts",
                "MeridianCore",
                "MeridianImages",
                "MeridianIngestJobs",
                .product(name: "Logging", package: "swift-log"),
                "MeridianStorage",
                .product(name: "SQLKit", package: "sql-kit"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "Histogram", package: "hdrhistogram-swift"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
            ],
            swiftSettings: swiftSettings
        ),
        .executableTarget(
            name: "meridian",
            dependencies: [
                "CJemalloc",
                "MeridianAuth",
                "MeridianContracts",
                "MeridianHTTP",
                "MeridianUsers",
                "MeridianApp",
                "MeridianBench",
                "MeridianAnalytics",
                "MeridianImages",
                "MeridianIngestJobs",
                "MeridianCore",
                "MeridianEventLog",
                "MeridianKafka",
                "MeridianStorage",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "Configuration", package: "swift-configuration"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "UnixSignals", package: "swift-service-lifecycle"),
            ],
            swiftSettings: swiftSettings
        ),

        // MARK: Tests (one test target per source target; each links what it uses)

        /// What the tests share: fresh databases on SQLite and PostgreSQL, a role's harness, child processes.
        .target(
            name: "MeridianTestSupport",
            dependencies: [
                .product(name: "HTTPTypes", package: "swift-http-types"),
                "MeridianAuth", "MeridianContracts", "MeridianCore", "MeridianEventLog", "MeridianHTTP", "MeridianPostgres",
                "MeridianS3", "MeridianSQLite", "MeridianStorage",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "HummingbirdTesting", package: "hummingbird"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "SQLKit", package: "sql-kit"),
            ],
            path: "Tests/MeridianTestSupport",
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "MeridianCoreTests",
            dependencies: ["MeridianCore"],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "MeridianContractsTests",
            dependencies: ["MeridianContracts", "MeridianCore"],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "MeridianEventLogTests",
            dependencies: ["MeridianCore", "MeridianEventLog", .product(name: "Logging", package: "swift-log")],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "MeridianKafkaTests",
            dependencies: [
                "MeridianCore", "MeridianKafka", "CRDKafka", .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
            ],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "MeridianStorageTests",
            dependencies: [
                "MeridianTestSupport", "MeridianCore", "MeridianStorage", .product(name: "SQLKit", package: "sql-kit"),
            ],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "MeridianFileObjectsTests",
            dependencies: ["MeridianCore", "MeridianFileObjects"],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "MeridianS3Tests",
            dependencies: [
                "MeridianCore", "MeridianS3", "MeridianTestSupport",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdTesting", package: "hummingbird"),
                .product(name: "NIOCore", package: "swift-nio"), .product(name: "NIOHTTP1", package: "swift-nio"),
            ],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "MeridianIngestJobsTests",
            dependencies: [
                "MeridianIngestJobs", "MeridianTestSupport", "MeridianCore", "MeridianEventLog", "MeridianFileObjects",
                "MeridianStorage", .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"), .product(name: "SQLKit", package: "sql-kit"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "MeridianImagesTests",
            dependencies: [
                "CVips", "MeridianImages", "MeridianContracts", "MeridianCore", "MeridianEventLog", "MeridianFileObjects",
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "MeridianSQLiteTests",
            dependencies: [
                "MeridianTestSupport", "MeridianCore", "MeridianSQLite", "MeridianStorage",
                .product(name: "Logging", package: "swift-log"), .product(name: "SQLKit", package: "sql-kit"),
            ],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "MeridianPostgresTests",
            dependencies: [
                "MeridianTestSupport", "MeridianCore", "MeridianPostgres", "MeridianStorage",
                .product(name: "Logging", package: "swift-log"), .product(name: "SQLKit", package: "sql-kit"),
                .product(name: "PostgresNIO", package: "postgres-nio"),
            ],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "MeridianMessagingTests",
            dependencies: [
                "MeridianTestSupport", "MeridianCore", "MeridianEventLog", "MeridianMessaging", "MeridianStorage",
                .product(name: "Logging", package: "swift-log"), .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "SQLKit", package: "sql-kit"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "MeridianHTTPTests",
            dependencies: [
                .product(name: "HTTPTypes", package: "swift-http-types"),
                "MeridianCore", "MeridianHTTP", .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdTesting", package: "hummingbird"), .product(name: "NIOCore", package: "swift-nio"),
            ],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "MeridianAuthTests",
            dependencies: [
                .product(name: "HTTPTypes", package: "swift-http-types"),
                "MeridianTestSupport", "MeridianAuth", "MeridianContracts", "MeridianHTTP",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdTesting", package: "hummingbird"),
            ],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "MeridianGatewayTests",
            dependencies: [
                .product(name: "HTTPTypes", package: "swift-http-types"),
                "MeridianTestSupport", "MeridianGateway", "MeridianHTTP", .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdTesting", package: "hummingbird"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
            ],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "MeridianIngestTests",
            dependencies: [
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOCore", package: "swift-nio"),
                "MeridianTestSupport", "MeridianApp", "MeridianCore", "MeridianEventLog", "MeridianHTTP", "MeridianIngest",
                "MeridianKafka",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdTesting", package: "hummingbird"), .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "Prometheus", package: "swift-prometheus"),
            ],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "MeridianUsersTests",
            dependencies: [
                .product(name: "HTTPTypes", package: "swift-http-types"),
                "MeridianTestSupport", "MeridianAuth", "MeridianContracts", "MeridianCore", "MeridianHTTP", "MeridianStorage",
                "MeridianUsers", .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdTesting", package: "hummingbird"), .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "MeridianProductsTests",
            dependencies: [
                .product(name: "HTTPTypes", package: "swift-http-types"),
                "MeridianTestSupport", "MeridianAuth", "MeridianContracts", "MeridianCore", "MeridianEventLog", "MeridianHTTP",
                "MeridianMessaging", "MeridianProducts", "MeridianStorage", .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdTesting", package: "hummingbird"), .product(name: "Logging", package: "swift-log"),
                .product(name: "SQLKit", package: "sql-kit"),
            ],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "MeridianCartsTests",
            dependencies: [
                .product(name: "HTTPTypes", package: "swift-http-types"),
                "MeridianTestSupport", "MeridianAuth", "MeridianCarts", "MeridianContracts", "MeridianCore", "MeridianEventLog",
                "MeridianHTTP", "MeridianMessaging", "MeridianStorage",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdTesting", package: "hummingbird"), .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "MeridianOrdersTests",
            dependencies: [
                "MeridianTestSupport", "MeridianContracts", "MeridianCore", "MeridianMessaging", "MeridianOrders",
                "MeridianStorage", .product(name: "Logging", package: "swift-log"), .product(name: "SQLKit", package: "sql-kit"),
            ],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "MeridianPaymentsTests",
            dependencies: [
                "MeridianTestSupport", "MeridianContracts", "MeridianCore", "MeridianEventLog", "MeridianMessaging",
                "MeridianPayments", "MeridianStorage", .product(name: "Logging", package: "swift-log"),
                .product(name: "SQLKit", package: "sql-kit"),
            ],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "MeridianNotificationsTests",
            dependencies: [
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "HummingbirdTesting", package: "hummingbird"),
                "MeridianTestSupport", "MeridianContracts", "MeridianCore", "MeridianEventLog", "MeridianMessaging",
                "MeridianNotifications", "MeridianStorage", .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "Logging", package: "swift-log"), .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"), .product(name: "SQLKit", package: "sql-kit"),
            ],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "MeridianServiceClientsTests",
            dependencies: [
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "HummingbirdTesting", package: "hummingbird"),
                "MeridianTestSupport", "MeridianAuth", "MeridianContracts", "MeridianCore", "MeridianHTTP",
                "MeridianServiceClients", .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
            ],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "MeridianBenchTests",
            dependencies: [
                "MeridianBench", .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdTesting", package: "hummingbird"), .product(name: "NIOPosix", package: "swift-nio"),
            ],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "MeridianAnalyticsTests",
            dependencies: ["MeridianAnalytics", "MeridianContracts", "MeridianCore", "MeridianStorage", "MeridianTestSupport"],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "MeridianAppTests",
            dependencies: [
                .product(name: "HTTPTypes", package: "swift-http-types"),
                "MeridianAnalytics",
                "MeridianGateway",
                "MeridianTestSupport", "MeridianApp", "MeridianCarts", "MeridianProducts", "MeridianServiceClients",
                "MeridianAuth", "MeridianContracts", "MeridianCore", "MeridianEventLog", "MeridianHTTP", "MeridianIngest",
                "MeridianKafka", "MeridianStorage", "MeridianUsers", "meridian", "MeridianFileObjects", "MeridianImages",
                "MeridianS3", "MeridianBench", "MeridianMessaging", "MeridianPostgres",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdTesting", package: "hummingbird"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "Configuration", package: "swift-configuration"), .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
            ],
            swiftSettings: swiftSettings
        ),
    ]
)
