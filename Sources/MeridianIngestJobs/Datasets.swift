import Crypto
import Foundation
import MeridianCore

/// A dataset upload's request: who, which dataset, which period, the file, its checksum.
public struct DatasetUpload: Sendable, Hashable {
    public var customerID: String
    public var dataset: String
    public var year: Int
    public var month: Int
    /// The file's name (the last key segment): letters, digits, `.`, `_`, `-`, at most 128, not starting with `.`.
    public var fileName: String
    /// The SHA-256 of the bytes, in hex, as the uploader computed it; verified before anything becomes current.
    public var sha256: String
    /// When given, the header must be exactly these columns, in this order.
    public var expectedColumns: [String]?
    /// The options of the ingest job that publishes the version's rows; nil uploads without a job.
    public var ingest: IngestJobOptions?

    public init(
        customerID: String, dataset: String, year: Int, month: Int, fileName: String, sha256: String,
        expectedColumns: [String]? = nil, ingest: IngestJobOptions? = nil
    ) {
        self.customerID = customerID
        self.dataset = dataset
        self.year = year
        self.month = month
        self.fileName = fileName
        self.sha256 = sha256
        self.expectedColumns = expectedColumns
        self.ingest = ingest
    }
}

/// `_current.json`, beside a period's versions: the version readers should use.
public struct DatasetManifest: Sendable, Hashable, Codable {
    public var customerID: String
    public var dataset: String
    public var year: Int
    public var month: Int
    /// The key of the current version.
    public var path: String
    public var uploadedAt: String
    public var sha256: String
    /// Records after the header (blank lines not counted, unreadable records counted).
    public var rows: Int

    enum CodingKeys: String, CodingKey {
        case customerID = "customer_id"
        case dataset, year, month, path
        case uploadedAt = "uploaded_at"
        case sha256, rows
    }
}

/// The outcome of an upload: the version's key, the manifest now current, and the job ingesting it.
public struct DatasetVersion: Sendable, Hashable {
    public var key: ObjectKey
    public var manifest: DatasetManifest
    public var job: IngestJob?
}

/// Versioned datasets in the object store (CONTRACTS.md "Bulk CSV ingestion"):
/// `datasets/customer_id=<c>/dataset=<d>/year=<YYYY>/month=<MM>/v<ms>-<random>_<file>` for each version, and
/// `_current.json` beside them.
///
/// An upload streams the body to a new version key (never overwriting an earlier version) while hashing it and
/// reading its header and records (constant memory); only when the SHA-256 is the one given and the header the
/// expected one does it create the ingest job and then replace `_current.json` (a put is atomic, so readers see
/// the old manifest or the new). A refused upload leaves no version behind. One job per period at a time: the
/// job store's unique index over active jobs refuses a second (``IngestJobError/Code/periodBusy``).
public struct Datasets: Sendable {
    public let objects: any ObjectStore
    public let jobs: IngestJobs
    /// The longest upload in bytes. Default 10 GiB.
    public var maxBytes: Int64 = 10 * 1_073_741_824
    let now: @Sendable () -> Date

    public init(objects: any ObjectStore, jobs: IngestJobs, now: @escaping @Sendable () -> Date = { Date() }) {
        self.objects = objects
        self.jobs = jobs
        self.now = now
    }

    /// The period's folder key prefix, after checking every part.
    public static func period(_ upload: DatasetUpload) throws(FieldViolation) -> DatasetPeriod {
        try checkSegment(upload.customerID, field: "customer_id")
        try checkSegment(upload.dataset, field: "dataset")
        _ = try CheckedMath.within(upload.year, 1970...9999, field: "year")
        _ = try CheckedMath.within(upload.month, 1...12, field: "month")
        return DatasetPeriod(customerID: upload.customerID, dataset: upload.dataset, year: upload.year, month: upload.month)
    }

    /// The manifest's key for a period.
    public static func manifestKey(_ period: DatasetPeriod) throws -> ObjectKey {
        try ObjectKey(validating: "datasets/\(period)/_current.json")
    }

    /// The current manifest of a period, or nil before its first upload.
    public func current(_ period: DatasetPeriod) async throws -> DatasetManifest? {
        guard let bytes = try await objects.bytes(of: try Self.manifestKey(period)) else { return nil }
        return try JSONDecoder().decode(DatasetManifest.self, from: Data(bytes))
    }

    /// Uploads a new version of a period's dataset (see the type's documentation for the steps).
    public func upload<Body: AsyncSequence & Sendable>(_ upload: DatasetUpload, body: Body) async throws -> DatasetVersion
    where Body.Element == [UInt8] {
        let period = try Self.period(upload)
        try Self.checkFileName(upload.fileName)
        let expected = upload.sha256.lowercased()
        guard expected.utf8.count == 64, expected.utf8.allSatisfy({ (0x30...0x39).contains($0) || (0x61...0x66).contains($0) })
        else { throw FieldViolation(field: "sha256", "must be 64 hexadecimal digits") }
        let options = try upload.ingest?.validated()
        if let expectedColumns = upload.expectedColumns { _ = try RowEvents.checkHeader(expectedColumns) }
        if options != nil, let busy = try await jobs.activeJob(for: period) {
            throw IngestJobError(.periodBusy, "job \(busy.id) is ingesting \(period)")
        }

        let time = now()
        let version = "v\(SQLIngestJobStore.millis(time))-\(RandomID.uuidString().prefix(8))"
        let key = try ObjectKey(validating: "datasets/\(period)/\(version)_\(upload.fileName)")
        let inspector = Inspector(delimiter: options?.delimiterByte ?? UInt8(ascii: ","), hasHeader: options?.hasHeader ?? true)
        let stored = try await objects.put(
            key, contentType: "text/csv", metadata: ["sha256": expected], limit: maxBytes,
            body: body.map { chunk in
                inspector.consume(chunk)
                return chunk
            })
        let (digest, header, rows) = inspector.finish()
        do {
            guard digest == expected else {
                throw IngestJobError(.checksumMismatch, "the upload's SHA-256 is \(digest), not \(expected)")
            }
            if let expectedColumns = upload.expectedColumns, header != expectedColumns {
                throw IngestJobError(
                    .header, "the header is \(header.map { "\($0)" } ?? "missing"), expected \(expectedColumns)")
            }
            var job: IngestJob?
            if let options {
                job = try await jobs.create(
                    source: .object(key), options: options, dataset: period,
                    version: IngestSourceVersion(size: stored.size, version: stored.etag)
                ).job
            }
            let manifest = DatasetManifest(
                customerID: period.customerID, dataset: period.dataset, year: period.year, month: period.month,
                path: key.rawValue, uploadedAt: Timestamp.format(time), sha256: expected, rows: rows)
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
            _ = try await objects.put(
                try Self.manifestKey(period), contentType: "application/json", bytes: Array(try encoder.encode(manifest)))
            return DatasetVersion(key: key, manifest: manifest, job: job)
        } catch {
            try? await objects.delete(key)
            throw error
        }
    }

    /// A key segment a client names: 1 to 64 of letters, digits, `_` and `-`, starting with a letter or digit
    /// (no `=`, `/` or `.`, which would change the key's layout).
    static func checkSegment(_ value: String, field: String) throws(FieldViolation) {
        let bytes = Array(value.utf8)
        guard (1...64).contains(bytes.count), let first = bytes.first, isAlphanumeric(first),
            bytes.allSatisfy({ isAlphanumeric($0) || $0 == UInt8(ascii: "_") || $0 == UInt8(ascii: "-") })
        else {
            throw FieldViolation(field: field, "must be 1 to 64 letters, digits, '_' or '-', starting with a letter or digit")
        }
    }

    static func checkFileName(_ value: String) throws(FieldViolation) {
        let bytes = Array(value.utf8)
        guard (1...128).contains(bytes.count), let first = bytes.first, isAlphanumeric(first),
            bytes.allSatisfy({
                isAlphanumeric($0) || $0 == UInt8(ascii: "_") || $0 == UInt8(ascii: "-") || $0 == UInt8(ascii: ".")
            })
        else {
            throw FieldViolation(
                field: "file", "must be 1 to 128 letters, digits, '.', '_' or '-', starting with a letter or digit")
        }
    }

    static func isAlphanumeric(_ byte: UInt8) -> Bool {
        (0x30...0x39).contains(byte) || (0x41...0x5A).contains(byte) || (0x61...0x7A).contains(byte)
    }

    /// Hashes the bytes and reads the header and the record count as they stream to the store.
    final class Inspector: @unchecked Sendable {
        // The object store consumes its body sequentially, one chunk after the other; the lock only makes that
        // visible to the compiler.
        private let lock = NSLock()
        private var hash = SHA256()
        private var reader: CSVReader
        private var header: [String]?
        private var records = 0
        private var sawFirst = false
        private let hasHeader: Bool

        init(delimiter: UInt8, hasHeader: Bool) {
            var configuration = CSVReader.Configuration()
            configuration.delimiter = delimiter
            reader = CSVReader(configuration: configuration)
            self.hasHeader = hasHeader
        }

        func consume(_ chunk: [UInt8]) {
            lock.withLock {
                hash.update(data: chunk)
                for record in reader.read(chunk) { count(record) }
            }
        }

        private func count(_ record: CSVReader.Record) {
            if case .fields(let fields) = record.content, fields.isEmpty { return }
            if !sawFirst {
                sawFirst = true
                if hasHeader {
                    if case .fields(let fields) = record.content { header = fields }
                    return
                }
            }
            records += 1
        }

        func finish() -> (sha256: String, header: [String]?, rows: Int) {
            lock.withLock {
                if let last = reader.finish() { count(last) }
                let digest = hash.finalize().map { byte in
                    let text = String(byte, radix: 16)
                    return byte < 16 ? "0" + text : text
                }.joined()
                return (digest, header, records)
            }
        }
    }
}
