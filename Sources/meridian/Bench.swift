import ArgumentParser
import Configuration
import Foundation
import Logging
import MeridianAnalytics
import MeridianApp
import MeridianBench
import MeridianCore
import MeridianImages
import MeridianKafka
import MeridianStorage
import Metrics
import NIOCore
import NIOPosix
import ServiceLifecycle

#if canImport(FoundationNetworking)
    import FoundationNetworking
#endif

struct Bench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Built-in load generators; results go to docs/benchmarks.md.",
        subcommands: [BenchIngest.self, BenchOrders.self, BenchImages.self, BenchCSV.self, BenchAnalytics.self])
}

struct BenchIngest: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "ingest",
        abstract: "Load POST /events (or /events/batch) and compare with the HTTP floor and the raw produce rate.",
        discussion: """
            Three phases of --duration seconds each, in one run: the HTTP floor (GET /health on the same
            server), the ingest load, and the raw produce rate (the same events appended straight to the
            event log the options name, as the server does). Only 127.0.0.1 targets are allowed.
            """)

    @OptionGroup var common: CommonOptions

    @Option(help: "The server to load.")
    var target: String = "http://127.0.0.1:8080"

    @Option(help: "single (POST /events) or batch (POST /events/batch).")
    var mode: String = "single"

    @Option(help: "Keep-alive connections.")
    var connections: Int = 256

    @Option(help: "Seconds per phase.")
    var duration: Int = 10

    @Option(help: "Events per batch request (batch mode).")
    var batchSize: Int = 500

    @Flag(help: "Print the results as JSON.")
    var json = false

    @Flag(help: "Skip the raw produce phase.")
    var skipProduce = false

    @Flag(help: "Skip the HTTP floor phase (for profiling the ingest phase alone).")
    var skipFloor = false

    func validate() throws {
        guard ["single", "batch"].contains(mode) else { throw ValidationError("--mode must be single or batch") }
        guard (1...10_000).contains(connections) else { throw ValidationError("--connections must be 1...10000") }
        guard (1...600).contains(duration) else { throw ValidationError("--duration must be 1...600 seconds") }
        guard (1...100_000).contains(batchSize) else { throw ValidationError("--batch-size must be 1...100000") }
        guard let url = URL(string: target), url.scheme == "http", let host = url.host,
            ["127.0.0.1", "localhost", "::1"].contains(host)
        else { throw ValidationError("--target must be an http URL on this machine (127.0.0.1 or localhost)") }
    }

    func run() async throws {
        let url = URL(string: target)!
        let host = url.host == "localhost" ? "127.0.0.1" : url.host!
        let port = url.port ?? 80
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        let generator = LoadGenerator(host: host, port: port, connections: connections, duration: .seconds(duration))

        let bodies = Self.makeBodies(mode: mode, batchSize: batchSize)
        let floor =
            skipFloor
            ? LoadGenerator.Result.empty : try await generator.run(.init(method: "GET", path: "/health"), group: group)
        let ingest = try await generator.run(
            .init(
                method: "POST", path: mode == "single" ? "/events" : "/events/batch",
                contentType: mode == "single" ? "application/json" : "application/x-ndjson", bodies: bodies),
            group: group)
        try await group.shutdownGracefully()
        let memory = await Self.serverMemory(host: host, port: port)
        let eventsPerRequest = mode == "single" ? 1 : batchSize
        let acceptedRequests = ingest.statuses.filter { (200..<300).contains($0.key) }.values.reduce(0, +)
        let eventsPerSecond = Double(acceptedRequests * eventsPerRequest) / max(ingest.seconds, 0.001)

        var produceRate: Double?
        if !skipProduce {
            produceRate = try await rawProduceRate(events: bodies)
        }

        var results: [String: Any] = [
            "mode": mode, "connections": connections, "duration_seconds": duration,
            "events_per_second": eventsPerSecond.rounded(),
            "requests_per_second": ingest.requestsPerSecond.rounded(),
            "latency_ms": [
                "p50": ingest.latencyMilliseconds(50), "p99": ingest.latencyMilliseconds(99),
                "p999": ingest.latencyMilliseconds(99.9),
            ],
            "statuses": Dictionary(uniqueKeysWithValues: ingest.statuses.map { (String($0.key), $0.value) }),
            "errors": ingest.errors,
            "http_floor_requests_per_second": floor.requestsPerSecond.rounded(),
            "ratio_to_http_floor": (eventsPerSecond / max(floor.requestsPerSecond, 1) * 1000).rounded() / 1000,
        ]
        if mode == "batch" { results["batch_size"] = batchSize }
        if let produceRate {
            results["raw_produce_events_per_second"] = produceRate.rounded()
            results["ratio_to_raw_produce"] = (eventsPerSecond / max(produceRate, 1) * 1000).rounded() / 1000
        }
        if let memory {
            results["server_rss_mb"] = (Double(memory.current) / 1_048_576).rounded()
            results["server_peak_rss_mb"] = (Double(memory.peak) / 1_048_576).rounded()
        }
        if json {
            let data = try JSONSerialization.data(withJSONObject: results, options: [.sortedKeys, .prettyPrinted])
            print(String(decoding: data, as: UTF8.self))
        } else {
            print("mode \(mode), \(connections) connections, \(duration) s per phase")
            print(
                String(
                    format: "ingest:      %.0f events/s (%.0f requests/s), errors %d, statuses %@", eventsPerSecond,
                    ingest.requestsPerSecond, ingest.errors, "\(ingest.statuses)"))
            print(
                String(
                    format: "latency:     p50 %.2f ms, p99 %.2f ms, p999 %.2f ms", ingest.latencyMilliseconds(50),
                    ingest.latencyMilliseconds(99), ingest.latencyMilliseconds(99.9)))
            print(
                String(
                    format: "HTTP floor:  %.0f requests/s (GET /health); ratio %.3f", floor.requestsPerSecond,
                    eventsPerSecond / max(floor.requestsPerSecond, 1)))
            if let produceRate {
                print(
                    String(format: "raw produce: %.0f events/s; ratio %.3f", produceRate, eventsPerSecond / max(produceRate, 1)))
            }
            if let memory {
                print("server RSS:  \(memory.current / 1_048_576) MB now, \(memory.peak / 1_048_576) MB peak")
            }
        }
    }

    /// Request bodies with distinct events (the server assigns ids).
    static func makeBodies(mode: String, batchSize: Int) -> [[UInt8]] {
        func event(_ n: Int) -> String {
            #"{"type":"page.viewed","payload":{"path":"/products/\#(n % 1000)","user":"u\#(n % 5000)","n":\#(n)}}"#
        }
        if mode == "single" {
            return (0..<1024).map { Array(event($0).utf8) }
        }
        return (0..<8).map { b in
            Array((0..<batchSize).map { event(b * batchSize + $0) }.joined(separator: "\n").utf8)
        }
    }

    /// Appends the same events straight to the event log, as the ingestor does, for --duration seconds.
    func rawProduceRate(events bodies: [[UInt8]]) async throws -> Double {
        let settings = try await common.settings()
        let log = try await buildEventLog(
            settings: settings, logger: Logger(label: "meridian.bench"), metrics: NOOPMetricsHandler.instance)
        let running = Task { try await log.run() }
        defer { running.cancel() }
        let decoder = try EventDecoder()
        let now = Date()
        var records: [EventRecord] = []
        for body in bodies {
            for line in body.split(separator: UInt8(ascii: "\n")) {
                if let event = try? decoder.decodeSingle(Array(line), format: .json, receivedAt: now) {
                    records.append(event.record(topic: settings.topics.events))
                }
            }
        }
        let batch = Array(records.prefix(500))
        let deadline = ContinuousClock.now.advanced(by: .seconds(duration))
        let start = ContinuousClock.now
        let total = await withTaskGroup(of: Int.self) { group in
            for _ in 0..<16 {
                group.addTask {
                    var appended = 0
                    while ContinuousClock.now < deadline {
                        let results = await log.append(batch)
                        appended += results.count { if case .success = $0 { true } else { false } }
                    }
                    return appended
                }
            }
            return await group.reduce(0, +)
        }
        let seconds = start.duration(to: .now).timeInterval
        await close(log)
        return Double(total) / max(seconds, 0.001)
    }

    /// The server's resident memory, from its /metrics.
    static func serverMemory(host: String, port: Int) async -> (current: Int, peak: Int)? {
        guard let url = URL(string: "http://\(host):\(port)/metrics"),
            let (data, _) = try? await URLSession.shared.data(from: url)
        else { return nil }
        let text = String(decoding: data, as: UTF8.self)
        func value(_ name: String) -> Int? {
            text.split(separator: "\n").first { $0.hasPrefix(name + " ") }
                .flatMap { $0.split(separator: " ").last }.flatMap { Double($0) }.map { Int($0) }
        }
        guard let current = value("meridian_process_resident_memory_bytes"),
            let peak = value("meridian_process_peak_resident_memory_bytes")
        else { return nil }
        return (current, peak)
    }
}

struct BenchImages: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "images",
        abstract: "Product images per second per core (all three variants), against vipsthumbnail in the same run.",
        discussion: """
            Generates a 2725×2225 JPEG (the size of sharp's published benchmark), then for --duration seconds
            makes its three variants again and again on --threads threads, and counts source images per second
            of CPU time; then runs libvips' own vipsthumbnail for the same three sizes (three runs per image, each
            decoding with shrink-on-load) as long, for the ratio. Also prints the most resident memory this process
            used while processing (sampled every 50 ms from /proc/self/status).
            """)

    @Option(help: "Seconds per phase.")
    var duration: Int = 10

    @Option(help: "Threads processing at once (default: the number of cores).")
    var threads: Int = ProcessInfo.processInfo.activeProcessorCount

    @Flag(help: "Print the results as JSON.")
    var json = false

    func validate() throws {
        guard (1...600).contains(duration) else { throw ValidationError("--duration must be 1...600 seconds") }
        guard (1...64).contains(threads) else { throw ValidationError("--threads must be 1...64") }
    }

    func run() async throws {
        let processor = try ImageProcessor(concurrency: 1)
        let jpeg = ImageLoad.sampleJPEG(width: 2_725, height: 2_225)
        guard !jpeg.isEmpty else { throw ValidationError("libvips could not make the sample image") }
        let path = NSTemporaryDirectory() + "meridian-bench-\(UUID().uuidString).jpg"
        guard FileManager.default.createFile(atPath: path, contents: Data(jpeg)) else {
            throw ValidationError("cannot write the sample image to \(path)")
        }
        defer { try? FileManager.default.removeItem(atPath: path) }
        let before = residentMemory()?.current ?? 0
        let (ours, peak) = ImageLoad.run(
            processor, jpeg: jpeg, threads: threads, duration: .seconds(duration),
            residentBytes: { residentMemory()?.current ?? 0 })
        let theirs = ImageLoad.vipsthumbnail(
            path: path, sizes: processor.configuration.sizes.map(\.box), threads: threads, duration: .seconds(duration))
        var results: [String: Any] = [
            "source_bytes": jpeg.count, "threads": threads, "duration_seconds": duration, "images": ours.images,
            "images_per_second": (ours.imagesPerSecond * 10).rounded() / 10,
            "images_per_core_second": (ours.imagesPerCoreSecond * 10).rounded() / 10,
            "cpu_seconds": (ours.cpuSeconds * 10).rounded() / 10,
            "peak_rss_mb": (Double(peak) / 1_048_576).rounded(),
            "rss_before_mb": (Double(before) / 1_048_576).rounded(),
        ]
        if let theirs {
            results["vipsthumbnail_images_per_core_second"] = (theirs.imagesPerCoreSecond * 10).rounded() / 10
            results["ratio_to_vipsthumbnail"] =
                (ours.imagesPerCoreSecond / max(theirs.imagesPerCoreSecond, 0.001) * 100).rounded() / 100
        }
        if json {
            let data = try JSONSerialization.data(withJSONObject: results, options: [.sortedKeys, .prettyPrinted])
            print(String(decoding: data, as: UTF8.self))
        } else {
            print("source: 2725×2225 JPEG, \(jpeg.count) bytes; \(threads) threads, \(duration) s per phase")
            print(
                String(
                    format: "meridian:       %.1f images/s, %.1f per core-second (%.1f CPU s), peak RSS %.0f MB (%.0f MB before)",
                    ours.imagesPerSecond, ours.imagesPerCoreSecond, ours.cpuSeconds, Double(peak) / 1_048_576,
                    Double(before) / 1_048_576))
            if let theirs {
                print(
                    String(
                        format: "vipsthumbnail:  %.1f images/s, %.1f per core-second; ratio %.2f", theirs.imagesPerSecond,
                        theirs.imagesPerCoreSecond, ours.imagesPerCoreSecond / max(theirs.imagesPerCoreSecond, 0.001)))
            } else {
                print("vipsthumbnail:  not installed (apt libvips-tools)")
            }
        }
    }
}

struct BenchOrders: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "orders",
        abstract: "Simulated customers ordering; prints confirmed orders/s and placement and confirmation latency.",
        discussion: """
            Each customer registers once, then repeatedly adds a product to its cart, orders the cart with
            pm_card_visa and waits for the order to be confirmed. The admin (for the products) signs in with
            --admin-email and the password in MERIDIAN_BENCH_ADMIN_PASSWORD. Turn the gateway's rate limits off
            on the target (gateway.userRate=0, gateway.addressRate=0): every customer comes from one address.
            scripts/bench-orders.sh runs it on embedded defaults and on PostgreSQL + Kafka.
            """)

    @Option(help: "The server to load.")
    var target: String = "http://127.0.0.1:8080"

    @Option(help: "Simulated customers, each one order at a time.")
    var customers: Int = 32

    @Option(help: "Seconds of ordering.")
    var duration: Int = 10

    @Option(help: "Products to order from.")
    var products: Int = 20

    @Option(help: "The admin that creates the products.")
    var adminEmail: String = "admin@example.com"

    @Option(help: "How customers wait for confirmation: prefer (Prefer: wait, long polling) or poll (every 5-20 ms).")
    var wait: String = "prefer"

    @Option(
        help: """
            The same-run denominator: the store to measure raw transactions on first (sqlite:PATH, a scratch file on \
            the server's disk, or the server's postgres:// URL; a scratch table is dropped afterwards).
            """)
    var floorStorageUrl: String?

    @Option(help: "Seconds of the store measurement.")
    var floorDuration: Int = 5

    @Option(help: "Seconds of ordering before the measured --duration (consumer groups joining); not counted.")
    var warmup: Int = 0

    @Flag(help: "Print the results as JSON.")
    var json = false

    func validate() throws {
        guard (1...10_000).contains(customers) else { throw ValidationError("--customers must be 1...10000") }
        guard (1...3600).contains(duration) else { throw ValidationError("--duration must be 1...3600 seconds") }
        guard (1...1000).contains(products) else { throw ValidationError("--products must be 1...1000") }
        guard OrderLoad.WaitMode(rawValue: wait) != nil else { throw ValidationError("--wait must be prefer or poll") }
        guard (1...600).contains(floorDuration) else { throw ValidationError("--floor-duration must be 1...600 seconds") }
        guard (0...600).contains(warmup) else { throw ValidationError("--warmup must be 0...600 seconds") }
        if let floorStorageUrl, !floorStorageUrl.hasPrefix("sqlite:"), !floorStorageUrl.hasPrefix("postgres") {
            throw ValidationError("--floor-storage-url must be sqlite:PATH or a postgres:// URL")
        }
        guard let url = URL(string: target), url.scheme == "http" || url.scheme == "https", url.host != nil else {
            throw ValidationError("--target must be an http(s) URL")
        }
        guard ProcessInfo.processInfo.environment["MERIDIAN_BENCH_ADMIN_PASSWORD"]?.isEmpty == false else {
            throw ValidationError("set MERIDIAN_BENCH_ADMIN_PASSWORD to the password of --admin-email")
        }
    }

    /// Raw store transactions per second on `--floor-storage-url`, or nil without it.
    func storeFloor() async throws -> Double? {
        guard let url = floorStorageUrl else { return nil }
        return try await withStore(url: url, logger: Logger(label: "meridian.bench")) { store in
            try await StoreFloor(store: store, duration: .seconds(floorDuration)).run()
        }
    }

    func run() async throws {
        let floor = try await storeFloor()
        var options = OrderLoad.Options(
            target: target.hasSuffix("/") ? String(target.dropLast()) : target, customers: customers,
            duration: .seconds(duration), products: products, adminEmail: adminEmail,
            adminPassword: ProcessInfo.processInfo.environment["MERIDIAN_BENCH_ADMIN_PASSWORD"] ?? "")
        options.wait = OrderLoad.WaitMode(rawValue: wait) ?? .prefer
        options.warmup = .seconds(warmup)
        let load = OrderLoad(options: options)
        let result: OrderLoad.Result
        do {
            result = try await load.run()
        } catch let failure as OrderLoad.SetupFailed {
            throw ValidationError(failure.description)
        }
        let url = URL(string: target)!
        let memory = await BenchIngest.serverMemory(host: url.host ?? "127.0.0.1", port: url.port ?? 80)
        let ms = OrderLoad.Result.milliseconds
        var results: [String: Any] = [
            "customers": customers, "duration_seconds": duration, "warmup_seconds": warmup, "wait": wait,
            "confirmed_orders_per_second": (result.confirmedPerSecond * 10).rounded() / 10,
            "placed": result.placed, "confirmed": result.confirmed, "not_confirmed": result.notConfirmed,
            "refused": Dictionary(uniqueKeysWithValues: result.refused.map { (String($0.key), $0.value) }),
            "errors": result.errors,
            "placement_ms": ["p50": ms(result.placement, 50), "p99": ms(result.placement, 99)],
            "confirmation_ms": ["p50": ms(result.confirmation, 50), "p99": ms(result.confirmation, 99)],
        ]
        if let memory { results["server_peak_rss_mb"] = (Double(memory.peak) / 1_048_576).rounded() }
        if let floor {
            results["store_transactions_per_second"] = floor.rounded()
            results["orders_per_1000_store_transactions"] = (result.confirmedPerSecond / floor * 10_000).rounded() / 10
        }
        if json {
            let data = try JSONSerialization.data(withJSONObject: results, options: [.sortedKeys, .prettyPrinted])
            print(String(decoding: data, as: UTF8.self))
        } else {
            print("\(customers) customers, \(duration) s")
            print(
                String(
                    format: "confirmed:    %.1f orders/s (%d confirmed, %d placed, %d not confirmed, %d errors)",
                    result.confirmedPerSecond, result.confirmed, result.placed, result.notConfirmed, result.errors))
            print(String(format: "placement:    p50 %.1f ms, p99 %.1f ms", ms(result.placement, 50), ms(result.placement, 99)))
            print(
                String(
                    format: "confirmation: p50 %.1f ms, p99 %.1f ms (placement to CONFIRMED, server clock)",
                    ms(result.confirmation, 50), ms(result.confirmation, 99)))
            if !result.refused.isEmpty { print("refused:      \(result.refused)") }
            if let floor {
                print(
                    String(
                        format: "store floor:  %.0f raw transactions/s; %.1f confirmed orders per 1000 of them",
                        floor, result.confirmedPerSecond / floor * 1000))
            }
        }
    }
}

struct BenchCSV: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "csv",
        abstract: "CSV rows per second into the event log, against the raw append rate of the same events.",
        discussion: """
            Generates a CSV of --rows rows and 10 columns, then for each round, on a fresh event log: appends the \
            events the job would publish (built beforehand, untimed), one batch of --batch-size at a time, each \
            durable before the next (raw); and runs a job over the file with the same batch size: read, parse, \
            events, durable append, checkpoint in SQLite (csv). Prints each round and the medians. The event log is \
            the embedded one, or Kafka with --event-log kafka --kafka-brokers (or --kafka-mock: librdkafka's mock \
            cluster in this process).
            """)

    @OptionGroup var common: CommonOptions

    @Option(help: "Rows of the generated file.")
    var rows = 1_000_000

    @Option(help: "Rows per durable batch (the job's batch size).")
    var batchSize = 500

    @Option(help: "Rounds (medians reported).")
    var rounds = 3

    @Flag(help: "Kafka: librdkafka's mock cluster in this process (3 brokers).")
    var kafkaMock = false

    @Flag(help: "Print the results as JSON.")
    var json = false

    func validate() throws {
        guard (1...100_000_000).contains(rows) else { throw ValidationError("--rows must be 1...100000000") }
        guard (1...10_000).contains(batchSize) else { throw ValidationError("--batch-size must be 1...10000") }
        guard (1...20).contains(rounds) else { throw ValidationError("--rounds must be 1...20") }
    }

    func run() async throws {
        let directory = NSTemporaryDirectory() + "meridian-bench-csv-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        bootstrapLogging(format: "text", level: common.logLevel ?? "warning")
        let cluster = kafkaMock ? try KafkaMockCluster(brokers: 3) : nil
        let path = directory + "/customers.csv"
        let size = try CSVLoad.generate(path: path, rows: rows)
        var raws: [Double] = []
        var jobs: [Double] = []
        for round in 1...rounds {
            var extra: [String: ConfigValue] = ["dataDir": .init(.string("\(directory)/round-\(round)"), isSecret: false)]
            if let cluster {
                extra["eventLog"] = .init(.string("kafka"), isSecret: false)
                extra["kafka.brokers"] = .init(.string(cluster.bootstrapServers), isSecret: false)
            }
            let settings = try await common.settings(extra: extra)
            let logger = Logger(label: "bench")
            let eventLog = try await buildEventLog(settings: settings, logger: logger, metrics: NOOPMetricsHandler.instance)
            let running = Task { try await eventLog.run() }
            try await eventLog.createTopics([TopicSpec(name: settings.topics.events, partitions: settings.topicPartitions)])
            let events = try CSVLoad.events(path: path, topic: settings.topics.events)
            let raw = try await CSVLoad.raw(events, batch: batchSize, eventLog: eventLog)
            if let closable = eventLog as? any ClosableEventLog { await closable.close() }
            running.cancel()
            _ = await running.result

            var jobSettings = extra
            jobSettings["dataDir"] = .init(.string("\(directory)/round-\(round)-job"), isSecret: false)
            let settingsForJob = try await common.settings(extra: jobSettings)
            let jobLog = try await buildEventLog(settings: settingsForJob, logger: logger, metrics: NOOPMetricsHandler.instance)
            let jobRunning = Task { try await jobLog.run() }
            try await jobLog.createTopics([TopicSpec(name: settings.topics.events, partitions: settings.topicPartitions)])
            let store = try await buildStore(settings: settingsForJob, logger: logger)
            let (job, _) = try await CSVLoad.job(
                path: path, batch: batchSize, store: store, eventLog: jobLog, topics: settings.topics)
            try? await store.close()
            if let closable = jobLog as? any ClosableEventLog { await closable.close() }
            jobRunning.cancel()
            _ = await jobRunning.result
            guard job.rows == raw.rows else {
                throw CommandFailure("the job published \(job.rows) rows, the raw phase \(raw.rows)")
            }
            raws.append(raw.rowsPerSecond)
            jobs.append(job.rowsPerSecond)
            if !json {
                print(
                    String(
                        format: "round %d: raw %.0f events/s, csv job %.0f rows/s, ratio %.2f", round, raw.rowsPerSecond,
                        job.rowsPerSecond, job.rowsPerSecond / raw.rowsPerSecond))
            }
        }
        func median(_ values: [Double]) -> Double { values.sorted()[values.count / 2] }
        let ratios = zip(jobs, raws).map { $0 / $1 }
        let results: [String: Any] = [
            "rows": rows, "columns": 10, "file_bytes": size, "batch_size": batchSize, "rounds": rounds,
            "event_log": kafkaMock ? "kafka-mock" : common.eventLog ?? "embedded",
            "raw_events_per_second": median(raws).rounded(), "csv_rows_per_second": median(jobs).rounded(),
            "ratio": (median(ratios) * 100).rounded() / 100,
        ]
        if json {
            let data = try JSONSerialization.data(withJSONObject: results, options: [.sortedKeys, .prettyPrinted])
            print(String(decoding: data, as: UTF8.self))
        } else {
            print(
                String(
                    format:
                        "%d rows × 10 columns (%.1f MB), batches of %d: median raw %.0f events/s, csv %.0f rows/s, ratio %.2f",
                    rows, Double(size) / 1_000_000, batchSize, median(raws), median(jobs), median(ratios)))
        }
    }
}

struct BenchAnalytics: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "analytics",
        abstract: "Events per CPU-second through the analytics engine, against the same query in PyFlink local mode.",
        discussion: """
            Generates --events events per job (confirmed orders for orders, processed images for image-bytes; 10% \
            out of order by up to 4 s), one structured CloudEvent per line, then per round and job: the engine over \
            the file as `meridian analytics replay` runs it (read, decode, window, emit), and the job's Flink SQL \
            (deploy/flink/jobs) over the same file in PyFlink local mode (scripts/flink/run-job.py; its CPU time is \
            the Python process's and the JVM's from the job's submission to its end). Prints each round and the \
            medians. --no-flink measures the engine alone.
            """)

    @Option(help: "Events per job.")
    var events = 1_000_000

    @Option(help: "Rounds (medians reported).")
    var rounds = 3

    @Option(help: "Jobs, comma-separated.")
    var jobs = "orders,image-bytes"

    @Flag(inversion: .prefixedNo, help: "Run the Flink twin too (needs Java; scripts/flink/venv.sh installs PyFlink).")
    var flink = true

    @Option(help: "The repository (for scripts/flink and deploy/flink).")
    var repository = FileManager.default.currentDirectoryPath

    @Flag(help: "Print the results as JSON.")
    var json = false

    func validate() throws {
        guard (1...100_000_000).contains(events) else { throw ValidationError("--events must be 1...100000000") }
        guard (1...20).contains(rounds) else { throw ValidationError("--rounds must be 1...20") }
        for name in jobs.split(separator: ",") where AnalyticsJob.named(String(name)) == nil {
            throw ValidationError(
                "--jobs: no job '\(name)'; the jobs are \(AnalyticsJob.all.map(\.name).joined(separator: ", "))")
        }
    }

    func run() async throws {
        let directory = NSTemporaryDirectory() + "meridian-bench-analytics-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        var python: String?
        if flink {
            let script = repository + "/scripts/flink/venv.sh"
            guard FileManager.default.isExecutableFile(atPath: script) else {
                throw CommandFailure(
                    "\(script) is missing: run from the repository or pass --repository (or --no-flink)", status: ExitStatus.usage
                )
            }
            let venv = Process()
            venv.executableURL = URL(fileURLWithPath: script)
            let pipe = Pipe()
            venv.standardOutput = pipe
            try venv.run()
            let output = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
            venv.waitUntilExit()
            guard venv.terminationStatus == 0, let path = output.split(separator: "\n").last.map(String.init) else {
                throw CommandFailure("scripts/flink/venv.sh failed (exit \(venv.terminationStatus))", status: 69)
            }
            python = path
        }
        let start = Int64(Timestamp.parse("2026-11-30T00:00:00Z")!.timeIntervalSince1970 * 1000)
        let selected = jobs.split(separator: ",").compactMap { AnalyticsJob.named(String($0)) }
        var inputs: [String: String] = [:]
        for job in selected {
            let kind: AnalyticsInput.Kind = job.name == AnalyticsJob.imageBytes.name ? .images : .orders
            let path = directory + "/\(kind.rawValue).jsonl"
            if inputs[job.name] == nil, !FileManager.default.fileExists(atPath: path) {
                try AnalyticsInput(kind: kind, count: events, start: start).write(to: path)
            }
            inputs[job.name] = path
        }
        var measured: [String: (engine: [Double], flink: [Double], ratio: [Double])] = [:]
        for round in 1...rounds {
            for job in selected {
                let path = inputs[job.name]!
                let engine = try AnalyticsLoad.engine(job: job, path: path)
                var line = String(
                    format: "round %d %@: engine %.0f events/CPU-s (%.2f CPU-s, %d results)", round, job.name,
                    engine.eventsPerCPUSecond, engine.cpuSeconds, engine.results)
                measured[job.name, default: ([], [], [])].engine.append(engine.eventsPerCPUSecond)
                if let python {
                    let twin = try AnalyticsLoad.flink(
                        python: python, script: repository + "/scripts/flink/run-job.py", job: job.name, path: path)
                    let ratio = engine.eventsPerCPUSecond / twin.eventsPerCPUSecond
                    measured[job.name]?.flink.append(twin.eventsPerCPUSecond)
                    measured[job.name]?.ratio.append(ratio)
                    line += String(
                        format: "; flink %.0f events/CPU-s (%.2f CPU-s, %.1f s wall, %d results); ratio %.1f",
                        twin.eventsPerCPUSecond, twin.cpuSeconds, twin.wallSeconds, twin.results, ratio)
                }
                if !json { print(line) }
            }
        }
        func median(_ values: [Double]) -> Double? { values.isEmpty ? nil : values.sorted()[values.count / 2] }
        var summary: [String: Any] = ["events_per_job": events, "rounds": rounds, "out_of_order": 0.1]
        for job in selected {
            let figures = measured[job.name]!
            var entry: [String: Any] = ["engine_events_per_cpu_second": median(figures.engine)!.rounded()]
            if let flink = median(figures.flink), let ratio = median(figures.ratio) {
                entry["flink_events_per_cpu_second"] = flink.rounded()
                entry["ratio"] = (ratio * 10).rounded() / 10
            }
            summary[job.name] = entry
            if !json {
                var line = String(
                    format: "%@, %d events: median engine %.0f events/CPU-s", job.name, events, median(figures.engine)!)
                if let flink = median(figures.flink), let ratio = median(figures.ratio) {
                    line += String(format: ", flink %.0f events/CPU-s, ratio %.1f", flink, ratio)
                }
                print(line)
            }
        }
        if json {
            let data = try JSONSerialization.data(withJSONObject: summary, options: [.sortedKeys, .prettyPrinted])
            print(String(decoding: data, as: UTF8.self))
        }
    }
}
