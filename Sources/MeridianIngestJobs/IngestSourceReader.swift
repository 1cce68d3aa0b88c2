import Foundation
import MeridianCore
import NIOPosix

#if canImport(Glibc)
    import Glibc
#endif

/// Opens a job's source at a byte offset and streams the rest in chunks, in constant memory: a local file is
/// opened and moved to the offset (`lseek`), an object is read with ``ObjectStore/get(_:from:)`` (a ranged GET on
/// S3). Nothing before the offset is read.
public struct IngestSourceReader: Sendable {
    /// The object store for `object` sources; nil when the process has none (then such sources fail).
    public var objects: (any ObjectStore)?
    /// Bytes per read from a file. Default 64 KiB.
    public var chunkBytes: Int

    public init(objects: (any ObjectStore)?, chunkBytes: Int = 65_536) {
        self.objects = objects
        self.chunkBytes = max(1, chunkBytes)
    }

    /// The source's current version (size, and ETag or inode and modification time).
    public func version(of source: IngestSource) async throws -> IngestSourceVersion {
        switch source {
        case .file(let path):
            let checked = try Self.checkPath(path)
            return try await NIOThreadPool.singleton.runIfActive {
                let descriptor = openForReading(checked)
                guard descriptor >= 0 else { throw Self.failure("cannot open \(path)") }
                defer { close(descriptor) }
                return try Self.version(ofFileAt: path)
            }
        case .object(let key):
            guard let objects else { throw IngestJobError(.source, "no object store is configured for \(key)") }
            guard let info = try await objects.head(key) else { throw IngestJobError(.source, "no object \(key)") }
            return IngestSourceVersion(size: info.size, version: info.etag)
        }
    }

    /// The source from byte `offset`, with its current version (compare it with the job's before trusting the
    /// offset).
    public func open(_ source: IngestSource, from offset: Int64) async throws -> (
        version: IngestSourceVersion, bytes: ObjectBytes
    ) {
        guard offset >= 0 else { throw IngestJobError(.source, "offset \(offset) is negative") }
        switch source {
        case .file(let path):
            let checked = try Self.checkPath(path)
            let chunkBytes = self.chunkBytes
            let (descriptor, version) = try await NIOThreadPool.singleton.runIfActive {
                () throws -> (Int32, IngestSourceVersion) in
                let descriptor = openForReading(checked)
                guard descriptor >= 0 else { throw Self.failure("cannot open \(path)") }
                do {
                    let version = try Self.version(ofFileAt: path)
                    if lseek(descriptor, off_t(min(offset, version.size)), SEEK_SET) < 0 {
                        throw Self.failure("cannot seek in \(path)")
                    }
                    return (descriptor, version)
                } catch {
                    close(descriptor)
                    throw error
                }
            }
            let bytes = ObjectBytes.producing(
                { yield in
                    defer { close(descriptor) }
                    while !Task.isCancelled {
                        let chunk = try await NIOThreadPool.singleton.runIfActive {
                            try Self.read(descriptor, upTo: chunkBytes, path: path)
                        }
                        if chunk.isEmpty { break }
                        yield(chunk)
                    }
                },
                describe: { $0 })
            return (version, bytes)
        case .object(let key):
            guard let objects else { throw IngestJobError(.source, "no object store is configured for \(key)") }
            guard let (info, bytes) = try await objects.get(key, from: offset) else {
                throw IngestJobError(.source, "no object \(key)")
            }
            return (IngestSourceVersion(size: info.size, version: info.etag), bytes)
        }
    }

    /// A path as the C calls take it: not empty, no NUL (which would end it early), at most 4,096 bytes.
    static func checkPath(_ path: String) throws(IngestJobError) -> String {
        guard !path.isEmpty, path.utf8.count <= 4_096, !path.utf8.contains(0) else {
            throw IngestJobError(.source, "the path must be 1 to 4096 bytes without NUL")
        }
        return path
    }

    /// The file's size and identity (device, inode, modification time): through Foundation rather than `fstat`,
    /// whose `struct stat` Swift attributes to a different C module in each build configuration.
    private static func version(ofFileAt path: String) throws -> IngestSourceVersion {
        let attributes: [FileAttributeKey: Any]
        do {
            attributes = try FileManager.default.attributesOfItem(atPath: path)
        } catch {
            throw IngestJobError(.source, "cannot stat \(path): \(error.localizedDescription)")
        }
        guard attributes[.type] as? FileAttributeType == .typeRegular else {
            throw IngestJobError(.source, "\(path) is not a regular file")
        }
        let size = (attributes[.size] as? NSNumber)?.int64Value ?? 0
        let device = (attributes[.systemNumber] as? NSNumber)?.uint64Value ?? 0
        let inode = (attributes[.systemFileNumber] as? NSNumber)?.uint64Value ?? 0
        let modified = (attributes[.modificationDate] as? Date)?.timeIntervalSince1970 ?? 0
        return IngestSourceVersion(size: size, version: "\(device):\(inode):\(modified)")
    }

    private static func read(_ descriptor: Int32, upTo count: Int, path: String) throws -> [UInt8] {
        var buffer = [UInt8](repeating: 0, count: count)
        while true {
            let result = buffer.withUnsafeMutableBytes { readBytes(descriptor, $0.baseAddress!, count) }
            if result < 0, errno == EINTR { continue }
            guard result >= 0 else { throw failure("cannot read \(path)") }
            buffer.removeLast(count - result)
            return buffer
        }
    }

    private static func failure(_ what: String) -> IngestJobError {
        IngestJobError(.source, "\(what): \(String(cString: strerror(errno)))")
    }
}

/// `open(2)` for reading (at file scope: inside the reader, `open` names its own method).
private func openForReading(_ path: String) -> Int32 { open(path, O_RDONLY | O_CLOEXEC) }

/// `read(2)` (at file scope: inside the reader, `read` names its own method).
private func readBytes(_ descriptor: Int32, _ buffer: UnsafeMutableRawPointer, _ count: Int) -> Int {
    read(descriptor, buffer, count)
}
