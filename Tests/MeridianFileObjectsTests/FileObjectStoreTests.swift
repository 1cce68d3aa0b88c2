import Foundation
import MeridianCore
import Testing

@testable import MeridianFileObjects

/// A store in a fresh directory, removed by `close()`.
struct TemporaryStore {
    let directory: String
    let store: FileObjectStore

    init(publicURL: String = "http://127.0.0.1:8080") throws {
        directory = NSTemporaryDirectory() + "meridian-objects-\(UUID().uuidString)"
        var configuration = FileObjectStore.Configuration(root: directory)
        configuration.publicURL = publicURL
        store = try FileObjectStore(configuration: configuration)
    }

    func close() { try? FileManager.default.removeItem(atPath: directory) }
}

func key(_ text: String) -> ObjectKey { ObjectKey(rawValue: text)! }

/// Chunks of a body, as an async sequence.
func chunks(_ parts: [[UInt8]]) -> AsyncStream<[UInt8]> {
    let (stream, continuation) = AsyncStream<[UInt8]>.makeStream()
    for part in parts { continuation.yield(part) }
    continuation.finish()
    return stream
}

@Suite struct FileObjectStoreTests {
    @Test func putGetHeadRoundTripAsAPlainFile() async throws {
        let fixture = try TemporaryStore()
        defer { fixture.close() }
        let bytes = (0..<200_003).map { UInt8(truncatingIfNeeded: $0 &* 31) }
        let stored = try await fixture.store.put(
            key("uploads/products/p1/u1.jpg"), contentType: "image/jpeg", metadata: ["product-id": "p1"], limit: nil,
            body: chunks([Array(bytes[..<70_000]), Array(bytes[70_000...])]))
        #expect(stored.size == 200_003)
        // The ETag is the MD5 of the bytes, as S3 gives for an object put in one part.
        let md5 = try #require(shell("md5sum", input: bytes)?.prefix(32))
        #expect(stored.etag == "\"\(md5)\"")
        // The object is a plain file with exactly its bytes.
        #expect(FileManager.default.contents(atPath: fixture.directory + "/uploads/products/p1/u1.jpg") == Data(bytes))
        let head = try #require(try await fixture.store.head(key("uploads/products/p1/u1.jpg")))
        #expect(head == stored)
        #expect(head.metadata == ["product-id": "p1"])
        let (info, stream) = try #require(try await fixture.store.get(key("uploads/products/p1/u1.jpg")))
        #expect(info == stored)
        var read: [UInt8] = []
        var pieces = 0
        for try await chunk in stream {
            read += chunk
            pieces += 1
        }
        #expect(read == bytes)
        #expect(pieces > 1, "streamed in chunks, not read whole")
        #expect(try await fixture.store.head(key("uploads/none")) == nil)
        #expect(try await fixture.store.get(key("uploads/none")) == nil)
    }

    @Test func aRangedGetSeeksToTheOffset() async throws {
        let fixture = try TemporaryStore()
        defer { fixture.close() }
        let bytes = (0..<200_003).map { UInt8(truncatingIfNeeded: $0 &* 31) }
        let stored = try await fixture.store.put(key("datasets/a.csv"), contentType: "text/csv", bytes: bytes)
        for offset in [Int64(0), 1, 65_536, 131_073, 200_002] {
            let (info, stream) = try #require(try await fixture.store.get(key("datasets/a.csv"), from: offset))
            #expect(info == stored, "the whole object's information")
            var read: [UInt8] = []
            for try await chunk in stream { read += chunk }
            #expect(read == Array(bytes[Int(offset)...]), "from \(offset)")
        }
        for offset in [Int64(200_003), 1 << 40, .max] {
            let (info, stream) = try #require(try await fixture.store.get(key("datasets/a.csv"), from: offset))
            #expect(info.size == 200_003)
            var read: [UInt8] = []
            for try await chunk in stream { read += chunk }
            #expect(read.isEmpty, "past the end from \(offset)")
        }
        #expect(try await fixture.store.get(key("datasets/none.csv"), from: 3) == nil)
        await #expect(throws: ObjectStoreError.invalidRange("offset -5 is negative")) {
            try await fixture.store.get(key("datasets/a.csv"), from: -5)
        }
    }

    @Test func aReplacementIsWholeAndLeavesNoPartsBehind() async throws {
        let fixture = try TemporaryStore()
        defer { fixture.close() }
        _ = try await fixture.store.put(key("a/b.txt"), contentType: "text/plain", bytes: Array("first".utf8))
        let second = try await fixture.store.put(key("a/b.txt"), contentType: "text/csv", bytes: Array("second!".utf8))
        #expect(try await fixture.store.bytes(of: key("a/b.txt")) == Array("second!".utf8))
        #expect(try await fixture.store.head(key("a/b.txt")) == second)
        #expect(try FileManager.default.contentsOfDirectory(atPath: fixture.directory + "/.tmp").isEmpty)
    }

    @Test func aBodyOverTheLimitLeavesNothing() async throws {
        let fixture = try TemporaryStore()
        defer { fixture.close() }
        await #expect(throws: ObjectStoreError.tooLarge(limit: 10)) {
            try await fixture.store.put(
                key("big.bin"), contentType: "application/octet-stream", metadata: [:], limit: 10,
                body: chunks([[1, 2, 3, 4, 5, 6], [7, 8, 9, 10, 11]]))
        }
        #expect(try await fixture.store.head(key("big.bin")) == nil)
        #expect(try FileManager.default.contentsOfDirectory(atPath: fixture.directory + "/.tmp").isEmpty)
    }

    @Test func listingPagesInKeyOrderWithinThePrefix() async throws {
        let fixture = try TemporaryStore()
        defer { fixture.close() }
        var expected: [String] = []
        for n in 0..<23 {
            let name = "uploads/p\(n % 3)/\(String(format: "%02d", n)).jpg"
            _ = try await fixture.store.put(key(name), contentType: "image/jpeg", bytes: [UInt8(n)])
            if name.hasPrefix("uploads/p1") { expected.append(name) }
        }
        _ = try await fixture.store.put(key("uploads/p10.jpg"), contentType: "image/jpeg", bytes: [0])
        _ = try await fixture.store.put(key("other/p1.jpg"), contentType: "image/jpeg", bytes: [0])
        expected.append("uploads/p10.jpg")
        expected.sort { $0.utf8.lexicographicallyPrecedes($1.utf8) }

        var seen: [String] = []
        var token: String?
        var pages = 0
        repeat {
            let page = try await fixture.store.list(prefix: "uploads/p1", after: token, limit: 3)
            #expect(page.objects.count <= 3)
            seen += page.objects.map(\.key.rawValue)
            token = page.nextToken
            pages += 1
        } while token != nil && pages < 10
        #expect(seen == expected)
        #expect(pages == 3)
        let everything = try await fixture.store.list(prefix: "", after: nil, limit: 1_000)
        #expect(everything.objects.count == 25)
        #expect(!everything.objects.contains { $0.key.rawValue.hasPrefix(".") })
        await #expect(throws: ObjectStoreError.invalidToken) {
            try await fixture.store.list(prefix: "", after: "not a token!", limit: 10)
        }
    }

    @Test func deleteRemovesAndIsIdempotent() async throws {
        let fixture = try TemporaryStore()
        defer { fixture.close() }
        _ = try await fixture.store.put(key("x/y"), contentType: "text/plain", bytes: [1])
        try await fixture.store.delete(key("x/y"))
        try await fixture.store.delete(key("x/y"))
        try await fixture.store.delete(key("never/was"))
        #expect(try await fixture.store.head(key("x/y")) == nil)
    }

    @Test func reservedSegmentsAreRefused() async throws {
        let fixture = try TemporaryStore()
        defer { fixture.close() }
        for name in [".meta/signing.key", ".tmp/x"] {
            await #expect(throws: ObjectStoreError.self) {
                try await fixture.store.put(key(name), contentType: "text/plain", bytes: [1])
            }
            #expect(try await fixture.store.get(key(name)) == nil)
        }
    }

    /// A crash between renaming the data and renaming its metadata leaves metadata of another file: it is not used.
    @Test func staleMetadataIsIgnored() async throws {
        let fixture = try TemporaryStore()
        defer { fixture.close() }
        _ = try await fixture.store.put(key("a.txt"), contentType: "text/plain", bytes: Array("old".utf8))
        let path = fixture.directory + "/a.txt"
        let replacement = path + ".new"
        #expect(FileManager.default.createFile(atPath: replacement, contents: Data("newer".utf8)))
        #expect(rename(replacement, path) == 0)
        let info = try #require(try await fixture.store.head(key("a.txt")))
        #expect(info.size == 5)
        #expect(info.contentType == "application/octet-stream")
        #expect(try await fixture.store.bytes(of: key("a.txt")) == Array("newer".utf8))
    }

    @Test func presignedURLsAreCheckedForMethodKeyTypeAndExpiry() throws {
        let fixture = try TemporaryStore(publicURL: "https://shop.example/")
        defer { fixture.close() }
        let store = fixture.store
        let upload = try store.presign(.put, key("uploads/p 1/ü.jpg"), contentType: "image/jpeg", expiresIn: .seconds(600))
        #expect(upload.url.hasPrefix("https://shop.example/objects/uploads/p%201/%C3%BC.jpg?expires="))
        #expect(upload.headers == ["Content-Type": "image/jpeg"])
        let query = try #require(URLComponents(string: upload.url)?.queryItems)
        let expires = try #require(Int64(query.first { $0.name == "expires" }?.value ?? ""))
        let signature = try #require(query.first { $0.name == "signature" }?.value)
        try store.verify(.put, key("uploads/p 1/ü.jpg"), expires: expires, signature: signature, contentType: "image/jpeg")
        #expect(throws: ObjectStoreError.self) {  // another type
            try store.verify(.put, key("uploads/p 1/ü.jpg"), expires: expires, signature: signature, contentType: "image/png")
        }
        #expect(throws: ObjectStoreError.self) {  // another method
            try store.verify(.get, key("uploads/p 1/ü.jpg"), expires: expires, signature: signature, contentType: nil)
        }
        #expect(throws: ObjectStoreError.self) {  // another key
            try store.verify(.put, key("uploads/p 2/ü.jpg"), expires: expires, signature: signature, contentType: "image/jpeg")
        }
        #expect(throws: ObjectStoreError.self) {  // a later expiry
            try store.verify(
                .put, key("uploads/p 1/ü.jpg"), expires: expires + 1, signature: signature, contentType: "image/jpeg")
        }
        #expect(throws: ObjectStoreError.self) {  // past its expiry
            try store.verify(
                .put, key("uploads/p 1/ü.jpg"), expires: expires, signature: signature, contentType: "image/jpeg",
                now: Date().addingTimeInterval(601))
        }
        #expect(throws: ObjectStoreError.self) {
            try store.presign(.get, key("a"), contentType: nil, expiresIn: .seconds(8 * 24 * 3600))
        }
        // The signing key survives a restart: a URL made before still verifies.
        let reopened = try FileObjectStore(configuration: store.configuration)
        try reopened.verify(.put, key("uploads/p 1/ü.jpg"), expires: expires, signature: signature, contentType: "image/jpeg")
        let mode = try FileManager.default.attributesOfItem(atPath: fixture.directory + "/.meta/signing.key")[.posixPermissions]
        #expect(mode as? Int == 0o600)
    }
}

/// The output of `command` fed `input`, or nil when it cannot run.
func shell(_ command: String, input: [UInt8]) -> String? {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
    process.arguments = [command]
    let stdin = Pipe()
    let stdout = Pipe()
    process.standardInput = stdin
    process.standardOutput = stdout
    guard (try? process.run()) != nil else { return nil }
    stdin.fileHandleForWriting.write(Data(input))
    try? stdin.fileHandleForWriting.close()
    let output = stdout.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    return String(decoding: output, as: UTF8.self)
}
