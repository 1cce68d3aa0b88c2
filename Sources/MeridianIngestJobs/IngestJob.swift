import Foundation
import MeridianCore

/// The id of a CSV ingest job: a lower-case UUID.
public struct IngestJobID: RawRepresentable, Hashable, Sendable, Codable, CustomStringConvertible {
    public let rawValue: String
    public init(rawValue: String) { self.rawValue = rawValue }
    public init(_ rawValue: String) { self.rawValue = rawValue }

    /// A new random id.
    public static func make() -> IngestJobID { IngestJobID(RandomID.uuidString()) }

    public var description: String { rawValue }
}

/// Where a job is in its life (``IngestJobLifecycle`` has the rules).
public enum IngestJobStatus: String, Sendable, Codable, CaseIterable, Hashable {
    /// Created; no runner has claimed it yet.
    case pending = "PENDING"
    /// A runner holds it (or held it and died: its lease expires and another runner resumes it).
    case inProgress = "IN_PROGRESS"
    /// Every row was read; the rejected fraction stayed within `maxErrorRate`.
    case completed = "COMPLETED"
    /// The source could not be read, changed, or too many rows were rejected.
    case failed = "FAILED"
    /// Cancelled by an operator: a running job stops between batches.
    case cancelled = "CANCELLED"

    /// True once the job can change no more.
    public var isFinal: Bool { self == .completed || self == .failed || self == .cancelled }

    /// The `status` label of `meridian_ingest_csv_jobs`.
    public var metricLabel: String { rawValue.lowercased() }
}

/// What a job reads: a file on the machine that runs it, or an object of the ``ObjectStore``.
///
/// A local path lets whoever names it read any file the process can: only the command line should offer it;
/// the HTTP API should take object keys alone.
public enum IngestSource: Sendable, Hashable, CustomStringConvertible {
    case file(path: String)
    case object(ObjectKey)

    /// `file` or `object`, as stored.
    public var kind: String {
        switch self {
        case .file: "file"
        case .object: "object"
        }
    }

    /// The path or the key, as stored and as the `ingest_file` header carries it.
    public var location: String {
        switch self {
        case .file(let path): path
        case .object(let key): key.rawValue
        }
    }

    public var description: String { "\(kind):\(location)" }

    /// The source stored as `kind` and `location`, or nil when they do not make one.
    public init?(kind: String, location: String) {
        switch kind {
        case "file": self = .file(path: location)
        case "object":
            guard let key = ObjectKey(rawValue: location) else { return nil }
            self = .object(key)
        default: return nil
        }
    }
}

/// What identifies one version of a source's content: its size, and its ETag (an object) or inode and
/// modification time (a file). A job resumes only on the same version: offsets mean nothing in another.
public struct IngestSourceVersion: Sendable, Hashable, Codable {
    public var size: Int64
    public var version: String

    public init(size: Int64, version: String) {
        self.size = size
        self.version = version
    }
}

/// The options of a job, as a client gives them; ``validated()`` checks every one.
public struct IngestJobOptions: Sendable, Hashable, Codable {
    /// The CloudEvent `type` of every row's event (required).
    public var type: String
    /// The CloudEvent `source`. Default `/meridian/ingest-jobs`.
    public var source: String = IngestJobOptions.defaultSource
    /// The column whose value is the event id instead of `<job_id>:<row>`. A row whose value is empty is rejected.
    /// The ids are then the client's: a resumed batch repeats them (duplicates stay recognisable), but two
    /// rows with the same value give two events with the same id (the consumer's duplicate detection keeps one).
    public var idColumn: String?
    /// The column whose value is the event `time` (RFC 3339); empty or unparsable rejects the row. Without it the
    /// time is when the row was read.
    public var timeColumn: String?
    /// The column whose value is the record key (the partition). Empty rejects the row. Without it the key is the
    /// event id.
    public var keyColumn: String?
    /// One ASCII byte other than `"`, CR and LF. Default `,`.
    public var delimiter: String = ","
    /// False when the first record is a row: the columns are then named `column_1`, `column_2`, …
    public var hasHeader: Bool = true
    /// Rows per durable append and checkpoint, 1...10,000. Default 500.
    public var batchSize: Int = IngestJobOptions.defaultBatchSize
    /// The topic to publish to; nil means the `events` topic of ``Topics``.
    public var topic: String?
    /// The largest rejected fraction (0...1) a job may end with (``IngestErrorBudget`` says when it is judged).
    /// Default 0.01.
    public var maxErrorRate: Double = IngestJobOptions.defaultMaxErrorRate

    public static let defaultSource = "/meridian/ingest-jobs"
    public static let defaultBatchSize = 500
    public static let batchSizes = 1...10_000
    public static let defaultMaxErrorRate = 0.01

    public init(type: String) {
        self.type = type
    }

    /// The options with their text trimmed, or the first violation, naming the option.
    /// The option `field` (as ``validated()`` names it) written the way a client spells it: `batch_size` in the
    /// API (`separator` `_`), `batch-size` on the command line (`-`).
    public static func spelling(_ field: String, separator: Character) -> String {
        var spelled = ""
        for character in field {
            if character.isUppercase {
                spelled.append(separator)
                spelled.append(Character(character.lowercased()))
            } else {
                spelled.append(character)
            }
        }
        return spelled
    }

    public func validated() throws(FieldViolation) -> IngestJobOptions {
        var options = self
        options.type = try TextRules.check(type, field: "type", maxCharacters: 256)
        options.source = try TextRules.check(source, field: "source", maxCharacters: 1_024)
        for (name, value) in [("idColumn", idColumn), ("timeColumn", timeColumn), ("keyColumn", keyColumn)] {
            if let value { _ = try TextRules.check(value, field: name, maxCharacters: 1_024) }
        }
        guard delimiter.utf8.count == 1, let byte = delimiter.utf8.first, byte < 0x80,
            byte != UInt8(ascii: "\""), byte != UInt8(ascii: "\r"), byte != UInt8(ascii: "\n"), byte != 0
        else { throw FieldViolation(field: "delimiter", "must be one ASCII character other than a quote or a line break") }
        _ = try CheckedMath.within(batchSize, Self.batchSizes, field: "batchSize")
        if let topic {
            guard !topic.isEmpty, topic.utf8.count <= 249,
                topic.utf8.allSatisfy({ byte in
                    (0x30...0x39).contains(byte) || (0x41...0x5A).contains(byte) || (0x61...0x7A).contains(byte)
                        || byte == UInt8(ascii: ".") || byte == UInt8(ascii: "_") || byte == UInt8(ascii: "-")
                })
            else { throw FieldViolation(field: "topic", "must be 1 to 249 of A-Z, a-z, 0-9, '.', '_' and '-'") }
        }
        guard maxErrorRate.isFinite, (0...1).contains(maxErrorRate) else {
            throw FieldViolation(field: "maxErrorRate", "must be a number between 0 and 1")
        }
        return options
    }

    /// The delimiter's byte (the options are validated first).
    var delimiterByte: UInt8 { delimiter.utf8.first ?? UInt8(ascii: ",") }
}

/// How far a job got: written after each durable batch, in the transaction that stores the batch's row errors.
public struct IngestCheckpoint: Sendable, Hashable, Codable {
    /// The byte offset after the last record handled: a resumed job seeks here.
    public var offset: Int64 = 0
    /// The line at `offset` (for the reader's line numbers).
    public var line: Int = 1
    /// The last row number given (rows count from 1 after the header).
    public var row: Int = 0
    public var rowsRead: Int = 0
    public var rowsPublished: Int = 0
    public var rowsRejected: Int = 0

    public init() {}
}

/// A dataset period a job ingests: at most one such job is active at a time (a unique index in SQL).
public struct DatasetPeriod: Sendable, Hashable, Codable, CustomStringConvertible {
    public var customerID: String
    public var dataset: String
    public var year: Int
    public var month: Int

    public init(customerID: String, dataset: String, year: Int, month: Int) {
        self.customerID = customerID
        self.dataset = dataset
        self.year = year
        self.month = month
    }

    /// `customer_id=<c>/dataset=<d>/year=<YYYY>/month=<MM>`: the period's folder and its lock name.
    public var description: String {
        "customer_id=\(customerID)/dataset=\(dataset)/year=\(Self.pad(year, 4))/month=\(Self.pad(month, 2))"
    }

    /// The period of a lock name (``description``), or nil.
    public init?(lockName: String) {
        var values: [String: String] = [:]
        for part in lockName.split(separator: "/") {
            let pair = part.split(separator: "=", maxSplits: 1)
            guard pair.count == 2 else { return nil }
            values[String(pair[0])] = String(pair[1])
        }
        guard let customer = values["customer_id"], let dataset = values["dataset"],
            let year = values["year"].flatMap({ Int($0) }), let month = values["month"].flatMap({ Int($0) })
        else { return nil }
        self.init(customerID: customer, dataset: dataset, year: year, month: month)
    }

    /// `value` in decimal with at least `digits` digits.
    static func pad(_ value: Int, _ digits: Int) -> String {
        let text = String(value)
        return String(repeating: "0", count: max(0, digits - text.count)) + text
    }
}

/// A CSV ingest job as stored.
public struct IngestJob: Sendable, Hashable {
    public var id: IngestJobID
    public var status: IngestJobStatus
    public var source: IngestSource
    /// The version of the source the job reads (checked again on every resume).
    public var sourceVersion: IngestSourceVersion
    public var options: IngestJobOptions
    /// Source, version and options in one hash: the same file run again with the same options finds this job.
    public var fingerprint: String
    public var dataset: DatasetPeriod?
    /// The columns, once the header was read (kept so that a resume does not read the header again).
    public var columns: [String]?
    public var checkpoint: IngestCheckpoint
    /// Why the job failed.
    public var failure: String?
    /// The key of the error report object, once the job ended with rejected rows.
    public var reportKey: String?
    /// The runner holding the job, and until when (a runner that dies stops renewing it).
    public var owner: String?
    public var leaseExpiresAt: Date?
    public var createdAt: Date
    public var updatedAt: Date
    public var finishedAt: Date?

    public init(
        id: IngestJobID, status: IngestJobStatus, source: IngestSource, sourceVersion: IngestSourceVersion,
        options: IngestJobOptions, fingerprint: String, dataset: DatasetPeriod? = nil, columns: [String]? = nil,
        checkpoint: IngestCheckpoint = .init(), failure: String? = nil, reportKey: String? = nil, owner: String? = nil,
        leaseExpiresAt: Date? = nil, createdAt: Date, updatedAt: Date, finishedAt: Date? = nil
    ) {
        self.id = id
        self.status = status
        self.source = source
        self.sourceVersion = sourceVersion
        self.options = options
        self.fingerprint = fingerprint
        self.dataset = dataset
        self.columns = columns
        self.checkpoint = checkpoint
        self.failure = failure
        self.reportKey = reportKey
        self.owner = owner
        self.leaseExpiresAt = leaseExpiresAt
        self.createdAt = createdAt
        self.updatedAt = updatedAt
        self.finishedAt = finishedAt
    }
}

/// A row that could not become an event: kept in SQL with the checkpoint, written to the report at the end.
public struct IngestRowError: Sendable, Hashable, Codable {
    /// The row number (from 1 after the header), as the event id would have had it.
    public var row: Int
    /// The line the record starts on.
    public var line: Int
    public var reason: String
    /// The record's bytes (at most 1,024; a row with the wrong column count is written again from its fields).
    public var raw: [UInt8]

    public init(row: Int, line: Int, reason: String, raw: [UInt8]) {
        self.row = row
        self.line = line
        self.reason = reason
        self.raw = raw
    }
}

/// Why an ingest operation was refused or failed, with an extensible code.
public struct IngestJobError: Error, Sendable, Hashable, CustomStringConvertible {
    public struct Code: RawRepresentable, Sendable, Hashable, CustomStringConvertible {
        public var rawValue: String
        public init(rawValue: String) { self.rawValue = rawValue }

        /// No such job.
        public static let notFound = Code(rawValue: "not_found")
        /// The job's status does not allow it (for example cancelling a completed job).
        public static let invalidTransition = Code(rawValue: "invalid_transition")
        /// Another active job ingests the same dataset period.
        public static let periodBusy = Code(rawValue: "period_busy")
        /// The source is missing, unreadable, or changed since the job began.
        public static let source = Code(rawValue: "source")
        /// The uploaded bytes' SHA-256 is not the one given.
        public static let checksumMismatch = Code(rawValue: "checksum_mismatch")
        /// The header is not the expected one, or cannot be read.
        public static let header = Code(rawValue: "header")
        /// Another runner holds the job.
        public static let leaseLost = Code(rawValue: "lease_lost")

        public var description: String { rawValue }
    }

    public var code: Code
    public var message: String

    public init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }

    public var description: String { "\(code): \(message)" }
}
