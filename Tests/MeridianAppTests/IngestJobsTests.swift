import Configuration
import Foundation
import MeridianTestSupport
import Testing

@testable import MeridianS3

/// Bulk CSV ingestion as users run it: `meridian ingest csv` killed with `kill -9` mid-file and run again (no row
/// lost, duplicates at most one batch, recognisable by their ids), and the jobs' API of a running platform.
@Suite(.serialized) struct IngestJobsTests {
    /// A CSV of `rows` customers (a quoted comma in every row, a line break in some) and one bad row at the end.
    func customers(_ rows: Int, at path: String) throws {
        var text = "id,name,city,spent\n"
        for row in 1...rows {
            let city = row % 97 == 0 ? "\"New\nYork\"" : "\"City, \(row % 50)\""
            text += "\(row),Customer \(row),\(city),\(row % 1_000)\n"
        }
        text += "bad,row\n"
        try text.write(toFile: path, atomically: true, encoding: .utf8)
    }

    func meridian(_ arguments: [String], directory: String) async throws -> (status: Int32, output: String) {
        var environment = ProcessInfo.processInfo.environment
        environment["MERIDIAN_DATA_DIR"] = directory + "/data"
        return try await ChildProcess.run(MeridianProcess.binary, arguments, environment: environment)
    }

    /// The published rows of the events topic: event ids, in order, and the ingest headers of the first.
    func publishedIDs(directory: String) async throws -> [String] {
        let read = try await meridian(["log", "read", "--topic", "events"], directory: directory)
        #expect(read.status == 0, "\(read.output.prefix(500))")
        return read.output.split(separator: "\n").compactMap { line in
            guard let record = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any],
                let headers = record["headers"] as? [String: String]
            else { return nil }
            return headers["ce_id"]
        }
    }

    @Test func aJobKilledMidFileResumesLosingNoRowWithAtMostOneBatchAgain() async throws {
        let directory = NSTemporaryDirectory() + "meridian-ingest-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let rows = 30_000
        let batch = 500
        try customers(rows, at: directory + "/customers.csv")
        let arguments = [
            "ingest", "csv", directory + "/customers.csv", "--type", "customer.imported", "--batch-size", String(batch),
        ]
        var environment = ProcessInfo.processInfo.environment
        environment["MERIDIAN_DATA_DIR"] = directory + "/data"
        let first = try ChildProcess(
            MeridianProcess.binary, arguments, environment: environment, outputPath: directory + "/first.log")
        // Killed once some batches are durable and checkpointed, and before the end. The command runs in slices of
        // 20 ms between SIGCONT and SIGSTOP, timed by a thread of its own (a busy test process may wake a task much
        // later than asked), and its job is read with `meridian ingest jobs list` while it is stopped: however busy
        // the machine, the kill comes mid-file.
        var published = 0
        let deadline = ContinuousClock.now.advanced(by: .seconds(120))
        while published < 5 * batch, first.isRunning, ContinuousClock.now < deadline {
            await first.runSlice(milliseconds: 20)
            let list = try await meridian(["ingest", "jobs", "list"], directory: directory)
            let job = list.output.split(separator: "\n").compactMap {
                try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any]
            }.first
            published = job?["rows_published"] as? Int ?? published
        }
        first.signal(SIGKILL)
        _ = await first.wait(timeout: .seconds(10))
        #expect(published >= 5 * batch, "the first run published \(published) rows before the kill: \(first.output)")
        #expect(published < rows, "the kill came before the end")

        let killed = try await meridian(["ingest", "jobs", "list"], directory: directory).output
        let second = try await meridian(arguments, directory: directory)
        #expect(second.status == 0, "\(second.output)")
        #expect(second.output.contains("resuming at row"), "\(second.output)\nthe jobs after the kill: \(killed)")
        #expect(second.output.contains("COMPLETED: \(rows + 1) rows read, \(rows) published, 1 rejected"), "\(second.output)")

        let ids = try await publishedIDs(directory: directory)
        let job = try #require(ids.first.map { String($0.split(separator: ":")[0]) })
        let expected = Set((1...rows).map { "\(job):\($0)" })
        #expect(Set(ids) == expected, "every row, and only rows of the job")
        let duplicates = ids.count - Set(ids).count
        #expect(duplicates <= batch, "\(duplicates) rows published twice; at most one batch (\(batch)) may be")

        // The bad row is in the error report, and the same command now has nothing to resume.
        let show = try await meridian(["ingest", "jobs", "show", job], directory: directory)
        let view = try #require(try JSONSerialization.jsonObject(with: Data(show.output.utf8)) as? [String: Any])
        #expect(view["status"] as? String == "COMPLETED")
        let report = try #require(view["report_key"] as? String)
        let lines = try String(contentsOfFile: "\(directory)/data/objects/\(report)", encoding: .utf8)
        #expect(lines.contains("bad,row"), "\(lines)")
        let missing = try await meridian(["ingest", "jobs", "show", "no-such-job"], directory: directory)
        #expect(missing.status == 66, "\(missing.output)")
    }

    @Test func commandLineMistakesNameTheirOption() async throws {
        let directory = NSTemporaryDirectory() + "meridian-ingest-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        try customers(3, at: directory + "/c.csv")
        for (arguments, status, text) in [
            (["--batch-size", "0"], Int32(64), "batch"),
            (["--max-error-rate", "2"], 64, "error"),
            (["--delimiter", "ab"], 64, "delimiter"),
        ] {
            let run = try await meridian(
                ["ingest", "csv", directory + "/c.csv", "--type", "customer.imported"] + arguments, directory: directory)
            #expect(run.status == status, "\(arguments): \(run.output)")
            #expect(run.output.lowercased().contains(text), "\(arguments): \(run.output)")
        }
        let missing = try await meridian(["ingest", "csv", directory + "/none.csv", "--type", "t.x"], directory: directory)
        #expect(missing.status != 0 && missing.output.contains("none.csv"), "\(missing.output)")
    }

    @Test func theJobsAPIRunsAnUploadedFileAndRefusesWhatItMust() async throws {
        try await AllInOne.with(["ingest.apiKeys": .init(.stringArray(["loader-key"]), isSecret: true)]) { platform in
            let admin = try await platform.admin()
            let customer = try await platform.customer("ada@example.com")
            var csv = "sku,qty\n"
            for row in 1...2_500 { csv += "sku-\(row),\(row % 7)\n" }
            let upload = try await platform.call(
                "POST", "/api/ingest/uploads", token: nil, json: ["file_name": "stock.csv"],
                headers: ["X-API-Key": "loader-key"])
            #expect(upload.status == 201, "\(upload)")
            let key = try #require(upload.object["object_key"] as? String)
            let address = try #require(upload.object["url"] as? String)
            let url = try #require(URLComponents(string: address))
            let put = try await platform.call(
                "PUT", url.percentEncodedPath + "?" + (url.percentEncodedQuery ?? ""), body: Data(csv.utf8),
                headers: ["Content-Type": "text/csv"])
            #expect(put.status == 200, "\(put)")

            let created = try await platform.call(
                "POST", "/api/ingest/jobs", token: admin,
                json: ["object_key": key, "type": "stock.counted", "batch_size": 1_000, "key_column": "sku"])
            #expect(created.status == 201, "\(created)")
            let id = try #require(created.object["id"] as? String)
            let done = try await platform.eventually("/api/ingest/jobs/\(id)", token: admin, timeout: .seconds(60)) {
                $0.object["status"] as? String == "COMPLETED"
            }
            #expect(done.object["rows_published"] as? Int == 2_500, "\(done)")
            #expect(done.object["percent"] as? Double == 100)
            let list = try await platform.call("GET", "/api/ingest/jobs?status=completed", token: admin)
            #expect(list.items.map { $0["id"] as? String } == [id], "\(list)")
            let cancelled = try await platform.call("POST", "/api/ingest/jobs/\(id)/cancel", token: admin)
            #expect(cancelled.status == 409, "a finished job cannot be cancelled: \(cancelled)")

            let refused: [(String, String?, [String: Any], Int, String?)] = [
                ("no token", nil, ["object_key": key, "type": "a.b"], 401, nil),
                ("a customer", customer, ["object_key": key, "type": "a.b"], 403, nil),
                ("no type", admin, ["object_key": key], 400, "type"),
                ("a path", admin, ["object_key": "../../etc/passwd", "type": "a.b"], 422, "object_key"),
                ("no object", admin, ["object_key": "ingest/none.csv", "type": "a.b"], 422, "object_key"),
                ("batch 0", admin, ["object_key": key, "type": "a.b", "batch_size": 0], 422, "batch_size"),
                ("batch huge", admin, ["object_key": key, "type": "a.b", "batch_size": Int.max], 422, "batch_size"),
                ("negative rate", admin, ["object_key": key, "type": "a.b", "max_error_rate": -1], 422, "max_error_rate"),
                ("NUL type", admin, ["object_key": key, "type": "a\u{0}b"], 422, "type"),
            ]
            for (name, token, body, status, field) in refused {
                let answer = try await platform.call("POST", "/api/ingest/jobs", token: token, json: body)
                #expect(answer.status == status, "\(name): \(answer)")
                #expect(answer.headers["content-type"] == "application/problem+json", "\(name)")
                if let field { #expect(answer.object["field"] as? String == field, "\(name): \(answer)") }
            }
            let wrongKey = try await platform.call(
                "GET", "/api/ingest/jobs/\(id)", body: nil, headers: ["X-API-Key": "not-the-key"])
            #expect(wrongKey.status == 401, "\(wrongKey)")
            #expect(try await platform.call("GET", "/api/ingest/jobs/nope", token: admin).status == 404)

            // Versioned datasets: a verified upload becomes current; a wrong checksum changes nothing.
            let period = "/api/ingest/datasets/acme/orders/2026/11"
            let first = Data("order,total\n1,100\n2,250\n".utf8)
            let stored = try await platform.call(
                "PUT", "\(period)/orders.csv?columns=order,total&type=order.imported", token: admin, body: first,
                headers: ["Content-Type": "text/csv", "X-Content-SHA256": SHA256Hex.of(first)])
            #expect(stored.status == 201, "\(stored)")
            let manifest = try #require(stored.object["manifest"] as? [String: Any])
            #expect(manifest["rows"] as? Int == 2 && manifest["customer_id"] as? String == "acme", "\(manifest)")
            #expect(manifest["sha256"] as? String == SHA256Hex.of(first))
            #expect((stored.object["job"] as? [String: Any])?["type"] as? String == "order.imported")
            let current = try await platform.call("GET", period, token: admin)
            #expect(current.object["path"] as? String == manifest["path"] as? String, "\(current)")
            let second = Data("order,total\n3,75\n".utf8)
            let wrong = try await platform.call(
                "PUT", "\(period)/orders.csv", token: admin, body: second,
                headers: ["Content-Type": "text/csv", "X-Content-SHA256": SHA256Hex.of(first)])
            #expect(wrong.status == 422 && wrong.object["field"] as? String == "X-Content-SHA256", "\(wrong)")
            #expect(try await platform.call("GET", period, token: admin).object["path"] as? String == manifest["path"] as? String)
            let newer = try await platform.call(
                "PUT", "\(period)/orders.csv", token: admin, body: second,
                headers: ["Content-Type": "text/csv", "X-Content-SHA256": SHA256Hex.of(second)])
            #expect(newer.status == 201, "\(newer)")
            let moved = try await platform.call("GET", period, token: admin)
            #expect(moved.object["rows"] as? Int == 1 && moved.object["path"] as? String != manifest["path"] as? String)
            let badMonth = try await platform.call(
                "PUT", "/api/ingest/datasets/acme/orders/2026/13/orders.csv", token: admin, body: second,
                headers: ["Content-Type": "text/csv", "X-Content-SHA256": SHA256Hex.of(second)])
            #expect(badMonth.status == 422 && badMonth.object["field"] as? String == "month", "\(badMonth)")
            #expect(try await platform.call("GET", "/api/ingest/jobs?status=bogus", token: admin).status == 400)
        }
    }
}

/// SHA-256 in hex, as an uploader computes it (through the store's own hashing module).
enum SHA256Hex {
    static func of(_ data: Data) -> String {
        SignatureV4.hex(SignatureV4.sha256(Array(data)))
    }
}
