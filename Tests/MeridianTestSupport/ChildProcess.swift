import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// A process a test starts and must stop: spawned with the default signal dispositions and an empty signal
/// mask (whatever the test runner's threads block or ignore), its output in a file the test owns.
///
/// Written by hand over `posix_spawn`: Foundation's `Process` passes the spawning thread's blocked and
/// ignored signals on to the child, so a `SIGTERM` from the test (or from `stop()`) could be lost and the
/// child outlive the test run.
public final class ChildProcess: @unchecked Sendable {
    public let pid: pid_t
    /// Where standard output and standard error go (nil: nowhere).
    public let outputPath: String?
    private let lock = NSLock()
    private var status: Int32?

    /// Starts `executable` with `arguments`. `environment` replaces the test's own when given; `input` is
    /// written to the child's standard input, which is then closed.
    public init(
        _ executable: String, _ arguments: [String], environment: [String: String]? = nil, outputPath: String? = nil,
        input: Data? = nil
    ) throws {
        self.outputPath = outputPath
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        var inputPipe: [Int32] = [-1, -1]
        if input != nil {
            guard pipe(&inputPipe) == 0 else { throw ChildProcessError("pipe: \(String(cString: strerror(errno)))") }
            posix_spawn_file_actions_adddup2(&actions, inputPipe[0], 0)
            posix_spawn_file_actions_addclose(&actions, inputPipe[1])
        } else {
            posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        }
        let target = outputPath ?? "/dev/null"
        posix_spawn_file_actions_addopen(&actions, 1, target, O_WRONLY | O_CREAT | O_APPEND, 0o644)
        posix_spawn_file_actions_adddup2(&actions, 1, 2)

        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        var empty = sigset_t()
        sigemptyset(&empty)
        posix_spawnattr_setsigmask(&attributes, &empty)
        var defaults = sigset_t()
        sigemptyset(&defaults)
        for signal in [SIGTERM, SIGINT, SIGHUP, SIGPIPE, SIGQUIT, SIGCHLD] { sigaddset(&defaults, signal) }
        posix_spawnattr_setsigdefault(&attributes, &defaults)
        posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF))

        let argv = ([executable] + arguments).map { strdup($0) } + [nil]
        defer { for pointer in argv { free(pointer) } }
        let variables = (environment ?? ProcessInfo.processInfo.environment).map { strdup("\($0.key)=\($0.value)") } + [nil]
        defer { for pointer in variables { free(pointer) } }
        var child: pid_t = 0
        let result = posix_spawnp(&child, executable, &actions, &attributes, argv, variables)
        if input != nil { close(inputPipe[0]) }
        guard result == 0 else {
            if input != nil { close(inputPipe[1]) }
            throw ChildProcessError("cannot start \(executable): \(String(cString: strerror(result)))")
        }
        pid = child
        if let input {
            input.withUnsafeBytes { buffer in
                var written = 0
                while written < buffer.count {
                    let count = write(inputPipe[1], buffer.baseAddress! + written, buffer.count - written)
                    if count <= 0 { break }
                    written += count
                }
            }
            close(inputPipe[1])
        }
    }

    /// The exit status (or 128 + the signal) once the process ended, else nil.
    public var exitStatus: Int32? {
        lock.lock()
        defer { lock.unlock() }
        if let status { return status }
        var raw: Int32 = 0
        let result = waitpid(pid, &raw, WNOHANG)
        if result == -1 && errno == ECHILD {
            // Reaped elsewhere: it ended, with a status nobody can tell any more.
            status = -1
            return status
        }
        guard result == pid else { return nil }
        let low = raw & 0x7F
        status = low == 0 ? (raw >> 8) & 0xFF : 128 + low
        return status
    }

    public var isRunning: Bool { exitStatus == nil }

    /// Lets the process run for `milliseconds`, then stops it (SIGCONT, SIGSTOP), timed on a thread of its own: a
    /// busy test process may wake a task much later than asked, and a kill between slices always lands mid-work.
    public func runSlice(milliseconds: Int) async {
        await withCheckedContinuation { (done: CheckedContinuation<Void, Never>) in
            Thread.detachNewThread {
                self.signal(SIGCONT)
                usleep(useconds_t(milliseconds * 1_000))
                self.signal(SIGSTOP)
                done.resume()
            }
        }
    }

    /// Sends `signal`.
    public func signal(_ signal: Int32) {
        if isRunning { kill(pid, signal) }
    }

    /// Waits until the process ended or `timeout` passed; returns its exit status, or nil when it still runs.
    @discardableResult
    public func wait(timeout: Duration) async -> Int32? {
        let deadline = ContinuousClock.now.advanced(by: timeout)
        while ContinuousClock.now < deadline {
            if let status = exitStatus { return status }
            try? await Task.sleep(for: .milliseconds(20))
        }
        return exitStatus
    }

    /// Waits for the end without a deadline (for commands that end by themselves).
    public func waitUntilExit() -> Int32 {
        while true {
            if let status = exitStatus { return status }
            usleep(10_000)
        }
    }

    /// Stops the process: SIGTERM, then SIGKILL after `grace`; returns the exit status.
    @discardableResult
    public func stop(grace: Duration = .seconds(10)) async -> Int32 {
        signal(SIGTERM)
        if let status = await wait(timeout: grace) { return status }
        kill(pid, SIGKILL)
        return await wait(timeout: .seconds(10)) ?? -1
    }

    /// What the process wrote so far.
    public var output: String {
        guard let outputPath else { return "" }
        return (try? String(contentsOfFile: outputPath, encoding: .utf8)) ?? ""
    }

    /// Runs a command to its end and returns its exit status and output (standard output and error together). It
    /// waits without holding a thread of the cooperative pool (two, on two cores: tests running beside it need them).
    public static func run(
        _ executable: String, _ arguments: [String], environment: [String: String]? = nil, input: Data? = nil
    ) async throws -> (status: Int32, output: String) {
        let outputPath = NSTemporaryDirectory() + "meridian-command-" + UUID().uuidString + ".log"
        defer { try? FileManager.default.removeItem(atPath: outputPath) }
        let child = try ChildProcess(executable, arguments, environment: environment, outputPath: outputPath, input: input)
        guard let status = await child.wait(timeout: .seconds(600)) else {
            _ = await child.stop()
            throw ChildProcessError("\(executable) \(arguments.joined(separator: " ")) ran for more than 10 minutes")
        }
        return (status, child.output)
    }
}

public struct ChildProcessError: Error, CustomStringConvertible {
    public var description: String
    public init(_ description: String) { self.description = description }
}

/// A TCP port on 127.0.0.1 that the OS just handed out and that is free again, for a server the test starts
/// that cannot report the port it bound itself.
public func freePort() throws -> Int {
    let descriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    guard descriptor >= 0 else { throw ChildProcessError("socket: \(String(cString: strerror(errno)))") }
    defer { close(descriptor) }
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_addr.s_addr = inet_addr("127.0.0.1")
    address.sin_port = 0
    var length = socklen_t(MemoryLayout<sockaddr_in>.size)
    let bound = withUnsafePointer(to: &address) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(descriptor, $0, length) }
    }
    guard bound == 0 else { throw ChildProcessError("bind: \(String(cString: strerror(errno)))") }
    let named = withUnsafeMutablePointer(to: &address) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(descriptor, $0, &length) }
    }
    guard named == 0 else { throw ChildProcessError("getsockname: \(String(cString: strerror(errno)))") }
    return Int(UInt16(bigEndian: address.sin_port))
}
