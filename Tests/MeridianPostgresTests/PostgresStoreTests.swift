import Foundation
import Logging
import MeridianTestSupport
import SQLKit
import Testing

@testable import MeridianPostgres

@Suite struct PostgresStoreTests {
    @Test func postgresURLs() {
        #expect(PostgresStore.configuration(from: "postgres://u:p@db.example:6543/shop") != nil)
        #expect(PostgresStore.configuration(from: "postgresql://u@127.0.0.1/shop?sslmode=require") != nil)
        #expect(PostgresStore.configuration(from: "mysql://u@h/d") == nil)
        #expect(PostgresStore.configuration(from: "postgres:///nohost") == nil)
    }

    @Test func urlOptionsAreCheckedAndNamed() {
        #expect(PostgresStore.optionsProblem(in: "postgres://u@db/shop") == nil)
        #expect(PostgresStore.optionsProblem(in: "postgres://u@db/shop?sslmode=verify-full&prepared_statements=false") == nil)
        #expect(PostgresStore.optionsProblem(in: "postgres://u@db/shop?sslmode=prefer")?.contains("sslmode=prefer") == true)
        #expect(PostgresStore.optionsProblem(in: "postgres://u@db/shop?prepared_statements=1")?.contains("true or false") == true)
        #expect(PostgresStore.optionsProblem(in: "postgres://u@db/shop?pool=3")?.contains("unknown option pool") == true)
        #expect(PostgresStore.optionsProblem(in: "postgres:///nohost") != nil)
        #expect(PostgresStore.optionsProblem(in: "postgres://u@/shop?host=/run/postgresql") == nil)
        #expect(PostgresStore.optionsProblem(in: "postgres://u@db/shop?host=db2")?.contains("absolute path") == true)
        #expect(
            PostgresStore.optionsProblem(in: "postgres://u@/shop?host=/run/postgresql&sslmode=require")?.contains(
                "Unix socket") == true)
    }

    @Test func aServersOwnCAIsNamedBySSLRootCert() throws {
        let directory = NSTemporaryDirectory() + "meridian-ca-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        try "not checked here".write(toFile: directory + "/ca.pem", atomically: true, encoding: .utf8)
        #expect(PostgresStore.optionsProblem(in: "postgres://u@db/shop?sslmode=require&sslrootcert=\(directory)/ca.pem") == nil)
        #expect(
            PostgresStore.optionsProblem(in: "postgres://u@db/shop?sslrootcert=\(directory)/ca.pem")?.contains(
                "needs sslmode=require") == true)
        #expect(
            PostgresStore.optionsProblem(in: "postgres://u@db/shop?sslmode=require&sslrootcert=\(directory)/none.pem")?
                .contains("cannot be read") == true)
        #expect(
            PostgresStore.optionsProblem(in: "postgres://u@db/shop?sslmode=require&sslrootcert=ca.pem")?.contains(
                "absolute path") == true)
    }

    /// A server whose certificate a private CA signed (as Cloud SQL's and DigitalOcean's are): refused against the
    /// system's CAs, accepted with `sslrootcert` naming that CA. A throw-away PostgreSQL with TLS, and a CA made with
    /// openssl.
    @Test(
        .enabled(
            if: FileManager.default.isExecutableFile(atPath: "/usr/bin/openssl") && PrivateCAServer.postgresBin != nil,
            "needs openssl and PostgreSQL's server binaries (scripts/install-deps.sh installs them)"))
    func tlsVerifiesAgainstTheCAThatSSLRootCertNames() async throws {
        let server = try await PrivateCAServer.start()
        defer { server.stop() }
        let base = "postgres://postgres@localhost:\(server.port)/postgres?sslmode=require"
        try await PostgresStore.checkConnection(
            url: base + "&sslrootcert=\(server.directory)/ca.pem", logger: Logger(label: "test"))
        await #expect(throws: (any Error).self) {
            try await PostgresStore.checkConnection(url: base, timeout: .seconds(5), logger: Logger(label: "test"))
        }
        // The pool too, not only the start-up check.
        let store = try PostgresStore(url: base + "&sslrootcert=\(server.directory)/ca.pem", logger: Logger(label: "test"))
        let running = Task { try await store.run() }
        defer { running.cancel() }
        let tls = try await store.withDatabase { db in
            try await db.raw("SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()").first()!
                .decode(column: "ssl", as: Bool.self)
        }
        #expect(tls)
    }

    @Test func aSocketDirectoryNamesTheServersSocket() throws {
        let target = try #require(PostgresStore.Target("postgres://u@/shop?host=/run/postgresql/"))
        #expect(target.socketPath == "/run/postgresql/.s.PGSQL.5432")
        #expect(target.database == "shop")
        #expect(PostgresStore.Target("postgres://u@localhost:6000/shop?host=/tmp")?.socketPath == "/tmp/.s.PGSQL.6000")
        #expect(PostgresStore.Target("postgres://u@db/shop")?.socketPath == nil)
    }

    /// scripts/with-postgres.sh also says where its server's socket is: the store works through it.
    @Test(
        .enabled(
            if: ProcessInfo.processInfo.environment["MERIDIAN_TEST_POSTGRES_SOCKET_DIR"] != nil,
            "needs MERIDIAN_TEST_POSTGRES_SOCKET_DIR, which scripts/with-postgres.sh (make test) sets"))
    func connectsThroughTheUnixSocket() async throws {
        let environment = ProcessInfo.processInfo.environment
        let url = try #require(environment["MERIDIAN_TEST_POSTGRES_URL"])
        let directory = try #require(environment["MERIDIAN_TEST_POSTGRES_SOCKET_DIR"])
        var components = try #require(URLComponents(string: url))
        components.host = nil
        components.queryItems = [URLQueryItem(name: "host", value: directory)]
        let socketURL = try #require(components.string)
        try await PostgresStore.checkConnection(url: socketURL, logger: Logger(label: "test"))
        let store = try PostgresStore(url: socketURL, logger: Logger(label: "test"))
        let running = Task { try await store.run() }
        defer { running.cancel() }
        let address = try await store.withDatabase { db in
            try await db.raw("SELECT COALESCE(inet_client_addr()::text, 'local') AS address").first()!
                .decode(column: "address", as: String.self)
        }
        // A Unix-socket session has no client IP address.
        #expect(address == "local")
    }

    @Test func thePoolOpensAtMostMaxConnections() async throws {
        guard let url = ProcessInfo.processInfo.environment["MERIDIAN_TEST_POSTGRES_URL"] else {
            _ = backends  // says loudly that the PostgreSQL cases are skipped
            return
        }
        let store = try PostgresStore(url: url, maxConnections: 2, logger: Logger(label: "test"))
        let running = Task { try await store.run() }
        defer { running.cancel() }
        // Eight sessions at once, each long enough to overlap: at most two server processes serve them.
        let pids = try await withThrowingTaskGroup(of: Int.self) { group in
            for _ in 0..<8 {
                group.addTask {
                    try await store.withDatabase { db in
                        try await db.raw("SELECT pg_backend_pid() AS pid, pg_sleep(0.05)").first()!
                            .decode(column: "pid", as: Int.self)
                    }
                }
            }
            return try await group.reduce(into: Set<Int>()) { $0.insert($1) }
        }
        #expect((1...2).contains(pids.count), "\(pids.count) connections")
    }

    @Test func anUnreachableDatabaseIsOneClearError() async throws {
        let port = try freePort()
        do {
            try await PostgresStore.checkConnection(
                url: "postgres://meridian:secret@127.0.0.1:\(port)/shop", logger: Logger(label: "test"))
            Issue.record("nothing listens on \(port)")
        } catch {
            #expect("\(error)".contains("refused"), "\(error)")
            #expect(!"\(error)".contains("secret"))
        }
    }

    @Test func aReachableDatabaseChecksOut() async throws {
        guard let url = ProcessInfo.processInfo.environment["MERIDIAN_TEST_POSTGRES_URL"] else {
            _ = backends  // says loudly that the PostgreSQL cases are skipped
            return
        }
        try await PostgresStore.checkConnection(url: url, logger: Logger(label: "test"))
    }
}

/// A PostgreSQL server on 127.0.0.1 with TLS on, its certificate (for `localhost`) signed by a CA made for the test.
struct PrivateCAServer {
    let directory: String
    let port: Int
    let pgBin: String

    static var postgresBin: String? {
        let root = "/usr/lib/postgresql"
        let versions = (try? FileManager.default.contentsOfDirectory(atPath: root))?.sorted() ?? []
        return versions.last.map { "\(root)/\($0)/bin" }.flatMap {
            FileManager.default.isExecutableFile(atPath: $0 + "/initdb") ? $0 : nil
        }
    }

    /// As root, PostgreSQL's tools run as the postgres user.
    static func command(_ tool: String, _ arguments: [String]) -> (String, [String]) {
        getuid() == 0 ? ("/usr/sbin/runuser", ["-u", "postgres", "--", tool] + arguments) : (tool, arguments)
    }

    static func run(_ tool: String, _ arguments: [String]) async throws {
        let (executable, list) = command(tool, arguments)
        let result = try await ChildProcess.run(executable, list)
        guard result.status == 0 else { throw ChildProcessError("\(tool) failed: \(result.output)") }
    }

    static func start() async throws -> PrivateCAServer {
        let bin = try #require(postgresBin)
        let directory = NSTemporaryDirectory() + "meridian-pgtls-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let openssl = "/usr/bin/openssl"
        for arguments in [
            [
                "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", "/CN=Meridian test CA",
                "-keyout", "\(directory)/ca.key", "-out", "\(directory)/ca.pem",
            ],
            [
                "req", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=localhost", "-keyout", "\(directory)/server.key",
                "-out", "\(directory)/server.csr",
            ],
        ] {
            let result = try await ChildProcess.run(openssl, arguments)
            guard result.status == 0 else { throw ChildProcessError("openssl: \(result.output)") }
        }
        try "subjectAltName=DNS:localhost,IP:127.0.0.1\n".write(
            toFile: "\(directory)/san.ext", atomically: true, encoding: .utf8)
        let signed = try await ChildProcess.run(
            openssl,
            [
                "x509", "-req", "-in", "\(directory)/server.csr", "-CA", "\(directory)/ca.pem", "-CAkey", "\(directory)/ca.key",
                "-CAcreateserial", "-days", "2", "-extfile", "\(directory)/san.ext", "-out", "\(directory)/server.pem",
            ])
        guard signed.status == 0 else { throw ChildProcessError("openssl x509: \(signed.output)") }
        if getuid() == 0 {
            _ = try await ChildProcess.run("/bin/chown", ["-R", "postgres:postgres", directory])
        }
        try FileManager.default.setAttributes([.posixPermissions: 0o600], ofItemAtPath: "\(directory)/server.key")
        try await run(bin + "/initdb", ["-D", "\(directory)/data", "-U", "postgres", "-A", "trust", "--no-sync"])
        let port = try freePort()
        try await run(
            bin + "/pg_ctl",
            [
                "-D", "\(directory)/data", "-l", "\(directory)/server.log", "-w", "-o",
                "-p \(port) -c listen_addresses=127.0.0.1 -k \(directory) -c fsync=off -c ssl=on "
                    + "-c ssl_cert_file=\(directory)/server.pem -c ssl_key_file=\(directory)/server.key", "start",
            ])
        return PrivateCAServer(directory: directory, port: port, pgBin: bin)
    }

    func stop() {
        let (executable, arguments) = Self.command(pgBin + "/pg_ctl", ["-D", "\(directory)/data", "-m", "immediate", "stop"])
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try? process.run()
        process.waitUntilExit()
        try? FileManager.default.removeItem(atPath: directory)
    }
}
