import Crypto
import Foundation
import MeridianCore
import MeridianFileObjects
import MeridianTestSupport
import Testing

@testable import MeridianIngestJobs

func sha256(_ bytes: [UInt8]) -> String {
    SHA256.hash(data: bytes).map { ($0 < 16 ? "0" : "") + String($0, radix: 16) }.joined()
}

func chunks(_ bytes: [UInt8], size: Int = 7) -> AsyncStream<[UInt8]> {
    let (stream, continuation) = AsyncStream<[UInt8]>.makeStream()
    for start in stride(from: 0, to: bytes.count, by: size) {
        continuation.yield(Array(bytes[start..<min(start + size, bytes.count)]))
    }
    continuation.finish()
    return stream
}

@Suite struct DatasetsTests {
    func upload(_ bytes: [UInt8], sha: String? = nil, month: Int = 3, columns: [String]? = nil, ingest: Bool = true)
        -> DatasetUpload
    {
        DatasetUpload(
            customerID: "c-42", dataset: "sales_eu", year: 2026, month: month, fileName: "sales.csv",
            sha256: sha ?? sha256(bytes), expectedColumns: columns, ingest: ingest ? IngestJobOptions(type: "sale.imported") : nil
        )
    }

    @Test(arguments: backends) func aVerifiedUploadBecomesTheCurrentVersionAndEachReuploadANewOne(backend: String) async throws {
        let fixture = try await IngestFixture(backend)
        let datasets = Datasets(objects: fixture.objects, jobs: fixture.jobs)
        let first = csv(rows: 3)
        let version1 = try await datasets.upload(upload(first, columns: ["id", "name", "amount"]), body: chunks(first))
        let period = DatasetPeriod(customerID: "c-42", dataset: "sales_eu", year: 2026, month: 3)
        #expect(version1.key.rawValue.hasPrefix("datasets/customer_id=c-42/dataset=sales_eu/year=2026/month=03/v"))
        #expect(version1.key.rawValue.hasSuffix("_sales.csv"))
        #expect(
            version1.manifest.rows == 3 && version1.manifest.sha256 == sha256(first)
                && version1.manifest.path == version1.key.rawValue)
        let job = try #require(version1.job)
        #expect(job.dataset == period && job.source == .object(version1.key))
        let manifestBytes = try #require(try await fixture.objects.bytes(of: try Datasets.manifestKey(period)))
        let manifest = try #require(try JSONSerialization.jsonObject(with: Data(manifestBytes)) as? [String: Any])
        #expect(Set(manifest.keys) == ["customer_id", "dataset", "year", "month", "path", "uploaded_at", "sha256", "rows"])
        #expect(try await datasets.current(period) == version1.manifest)

        // One job per period: a second upload waits for the first job to end.
        let second = csv(rows: 5)
        await #expect(throws: IngestJobError.self) { try await datasets.upload(upload(second), body: chunks(second)) }
        _ = try await fixture.jobs.cancel(job.id)
        let version2 = try await datasets.upload(upload(second), body: chunks(second))
        #expect(version2.key != version1.key)
        #expect(try await fixture.objects.bytes(of: version1.key) == first, "the earlier version is kept")
        #expect(try await datasets.current(period)?.path == version2.key.rawValue)
        #expect(try await datasets.current(period)?.rows == 5)
        await fixture.close()
    }

    @Test(arguments: backends) func aWrongChecksumOrHeaderLeavesNothingAndTheManifestAsItWas(backend: String) async throws {
        let fixture = try await IngestFixture(backend)
        let datasets = Datasets(objects: fixture.objects, jobs: fixture.jobs)
        let bytes = csv(rows: 2)
        let good = try await datasets.upload(upload(bytes, ingest: false), body: chunks(bytes))
        #expect(good.job == nil)
        let period = DatasetPeriod(customerID: "c-42", dataset: "sales_eu", year: 2026, month: 3)
        let other = csv(rows: 4)
        await #expect(throws: IngestJobError.self) {
            try await datasets.upload(upload(other, sha: sha256(bytes)), body: chunks(other))
        }
        await #expect(throws: IngestJobError.self) {
            try await datasets.upload(upload(other, columns: ["id", "name"]), body: chunks(other))
        }
        let listed = try await fixture.objects.list(prefix: "datasets/", after: nil, limit: 100).objects.map(\.key)
        #expect(listed == [try Datasets.manifestKey(period), good.key].sorted())
        #expect(try await datasets.current(period) == good.manifest)
        #expect(try await fixture.jobs.list().isEmpty)
        await fixture.close()
    }

    @Test func hostileNamesAndNumbersAreRefusedWithoutTrapping() throws {
        let base = DatasetUpload(customerID: "c", dataset: "d", year: 2026, month: 1, fileName: "f.csv", sha256: "")
        for (field, change) in [
            ("customer_id", { (u: inout DatasetUpload) in u.customerID = "a/b" }),
            ("customer_id", { $0.customerID = "" }), ("customer_id", { $0.customerID = ".." }),
            ("customer_id", { $0.customerID = "x\u{0}" }), ("customer_id", { $0.customerID = "k=v" }),
            ("dataset", { $0.dataset = String(repeating: "d", count: 65) }), ("dataset", { $0.dataset = "-x" }),
            ("year", { $0.year = .max }), ("year", { $0.year = .min }), ("year", { $0.year = 0 }), ("year", { $0.year = 10_000 }),
            ("month", { $0.month = 0 }), ("month", { $0.month = 13 }), ("month", { $0.month = -1 }),
        ] as [(String, (inout DatasetUpload) -> Void)] {
            var upload = base
            change(&upload)
            #expect(throws: FieldViolation.self) { try Datasets.period(upload) }
            do { _ = try Datasets.period(upload) } catch { #expect(error.field == field) }
        }
        #expect(throws: FieldViolation.self) { try Datasets.checkFileName(".hidden") }
        #expect(throws: FieldViolation.self) { try Datasets.checkFileName("a/b.csv") }
        #expect(try Datasets.period(base).description == "customer_id=c/dataset=d/year=2026/month=01")
        #expect(DatasetPeriod(lockName: "customer_id=c/dataset=d/year=2026/month=01") == (try Datasets.period(base)))
    }
}
