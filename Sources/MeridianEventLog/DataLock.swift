import Foundation
import MeridianCore

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// An exclusive lock on a file beside the embedded log, held by the one process that writes the log.
///
/// The embedded log keeps each partition's next offset in memory, so a second writer would hand out
/// offsets the first one already used. `flock(2)` ends with the process, so a `kill -9` never leaves a
/// stale lock; the file holds the holder's pid so a refused writer can name it.
/// Written by hand: no available package wraps `flock`.
final class DataLock: Sendable {
    let path: String
    private let descriptor: Int32

    private init(path: String, descriptor: Int32) {
        self.path = path
        self.descriptor = descriptor
    }

    /// Takes the lock at `path` (creating the file), or throws `EventLogError(.unavailable)` naming the holder.
    static func acquire(path: String) throws -> DataLock {
        let descriptor = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o644)
        guard descriptor >= 0 else {
            throw EventLogError(.unavailable, "cannot create the lock file \(path): \(String(cString: strerror(errno)))")
        }
        guard flock(descriptor, LOCK_EX | LOCK_NB) == 0 else {
            let reason = errno
            var holder = ""
            if reason == EWOULDBLOCK, let text = try? String(contentsOfFile: path, encoding: .utf8) {
                holder = text.trimmingCharacters(in: .whitespacesAndNewlines)
            }
            close(descriptor)
            guard reason == EWOULDBLOCK else {
                throw EventLogError(.unavailable, "cannot lock \(path): \(String(cString: strerror(reason)))")
            }
            throw EventLogError(
                .locked,
                "the event log is in use by process \(holder.isEmpty ? "(unknown)" : holder): stop it, or use another data dir")
        }
        let pid = Array("\(getpid())\n".utf8)
        _ = ftruncate(descriptor, 0)
        _ = pid.withUnsafeBytes { pwrite(descriptor, $0.baseAddress, $0.count, 0) }
        return DataLock(path: path, descriptor: descriptor)
    }

    /// Releases the lock.
    func release() {
        _ = ftruncate(descriptor, 0)
        flock(descriptor, LOCK_UN)
        close(descriptor)
    }
}
