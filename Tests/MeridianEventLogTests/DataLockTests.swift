import Foundation
import Logging
import MeridianCore
import Testing

@testable import MeridianEventLog

/// One writer per embedded log; readers beside it.
@Suite struct DataLockTests {
    @Test func aSecondWriterIsRefusedNamingTheHolderAndReadersWorkBeside() async throws {
        let directory = NSTemporaryDirectory() + "meridian-lock-" + UUID().uuidString
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let configuration = EmbeddedEventLog.Configuration(path: directory + "/log.sqlite")
        let writer = try await EmbeddedEventLog.open(configuration: configuration, logger: Logger(label: "test"))
        Task { try await writer.run() }
        _ = await writer.append([EventRecord(topic: "events", key: nil, value: [1])])
        do {
            _ = try await EmbeddedEventLog.open(configuration: configuration, logger: Logger(label: "test"))
            Issue.record("a second writer opened the log")
        } catch let error as EventLogError {
            #expect(error.code == .locked)
            #expect(error.message.contains("\(getpid())"))
        }
        let reader = try await EmbeddedEventLog.openReadOnly(configuration: configuration, logger: Logger(label: "test"))
        #expect(try await reader.describeTopics().first { $0.name == "events" }?.recordCount == 1)
        // What the writer appends afterwards, the reader sees.
        _ = await writer.append([EventRecord(topic: "events", key: nil, value: [2])])
        #expect(try await reader.describeTopics().first { $0.name == "events" }?.recordCount == 2)
        let refused = await reader.append([EventRecord(topic: "events", key: nil, value: [3])])
        #expect(throws: EventLogError.self) { try refused[0].get() }
        await reader.close()
        await reader.close()  // closing twice is harmless
        await writer.close()
        // Once the writer is gone, another may open it.
        let next = try await EmbeddedEventLog.open(configuration: configuration, logger: Logger(label: "test"))
        await next.close()
    }

    @Test func readingWhereThereIsNoLogCreatesNothing() async throws {
        let directory = NSTemporaryDirectory() + "meridian-nolog-" + UUID().uuidString
        do {
            _ = try await EmbeddedEventLog.openReadOnly(
                configuration: .init(path: directory + "/log.sqlite"), logger: Logger(label: "test"))
            Issue.record("opened a log that is not there")
        } catch let error as EventLogError {
            #expect(error.code == .notFound)
        }
        #expect(!FileManager.default.fileExists(atPath: directory))
    }
}
