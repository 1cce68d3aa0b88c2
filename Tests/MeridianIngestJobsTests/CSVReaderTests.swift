import Foundation
import Testing

@testable import MeridianIngestJobs

/// Every record of `text`, read in one piece.
func records(_ text: String, configuration: CSVReader.Configuration = .init()) -> [CSVReader.Record] {
    var reader = CSVReader(configuration: configuration)
    var out = reader.read(Array(text.utf8))
    if let last = reader.finish() { out.append(last) }
    return out
}

func fields(_ records: [CSVReader.Record]) -> [[String]?] {
    records.map { record -> [String]? in
        if case .fields(let fields) = record.content { return fields }
        return nil
    }
}

@Suite struct CSVReaderTests {
    @Test func rfc4180() {
        let text = "id,name,note\r\n1,\"Smith, Jane\",\"said \"\"hi\"\"\"\r\n2,Bob,\"two\nlines\"\r\n3,,\r\n"
        let read = records(text)
        #expect(
            fields(read) == [
                ["id", "name", "note"], ["1", "Smith, Jane", #"said "hi""#], ["2", "Bob", "two\nlines"], ["3", "", ""],
            ])
        #expect(read.map(\.line) == [1, 2, 3, 5])
        #expect(read.last?.end == Int64(text.utf8.count))
        // Each record starts where the one before ended.
        #expect(zip(read, read.dropFirst()).allSatisfy { $0.end == $1.start })
    }

    @Test func aByteOrderMarkAndNoFinalLineBreakAndOtherDelimiters() {
        #expect(
            fields(
                records(
                    "\u{FEFF}a;b\n1;2",
                    configuration: {
                        var c = CSVReader.Configuration()
                        c.delimiter = UInt8(ascii: ";")
                        return c
                    }())) == [["a", "b"], ["1", "2"]])
        #expect(records("\u{FEFF}a,b\n").first?.start == 3)
        #expect(
            fields(
                records(
                    "a\tb\n",
                    configuration: {
                        var c = CSVReader.Configuration()
                        c.delimiter = 9
                        return c
                    }())) == [["a", "b"]])
        #expect(fields(records("\u{EF}x\n")) == [["\u{EF}x"]])
        #expect(fields(records("a,\n")) == [["a", ""]])
        #expect(fields(records("a\n\nb\r\n\r\nc")) == [["a"], [], ["b"], [], ["c"]])
        #expect(fields(records("\"\"\n")) == [[""]])
        #expect(records("").isEmpty)
        #expect(fields(records("x\ry\n")) == [["x\ry"]])
    }

    @Test func brokenRecordsAreErrorsAndReadingGoesOn() {
        let read = records("a,b\n1,x\"y\n\"q\"z,2\n3,\"open\nok,fine\n\"never closed")
        let reasons: [String?] = read.map { record in
            if case .error(let reason, _) = record.content { return reason }
            return nil
        }
        #expect(fields(read)[0] == ["a", "b"])
        #expect(reasons[1] == "a quote inside an unquoted field")
        #expect(reasons[2] == "text after the closing quote of a field")
        // The quote opened on line 4 runs over two line breaks and closes on line 6, where text follows it.
        #expect(reasons[3] == "text after the closing quote of a field")
        #expect(read[3].line == 4)
        #expect(read.count == 4)
        let unclosed = records("a\n\"open\nstill open")
        #expect(fields(unclosed)[0] == ["a"])
        if case .error(let reason, _) = unclosed[1].content {
            #expect(reason == "a quoted field is not closed before the end of the file")
        } else {
            Issue.record("an unclosed quote must be an error")
        }
        // Invalid UTF-8 (a lone 0xFF byte) in a field.
        var reader = CSVReader()
        var invalid = reader.read(Array("ok\n".utf8) + [0xFF] + Array("bad\nfine\n".utf8))
        if let last = reader.finish() { invalid.append(last) }
        #expect(fields(invalid) == [["ok"], nil, ["fine"]])
    }

    @Test func aTooLongRecordIsAnErrorWithoutBeingKept() {
        var configuration = CSVReader.Configuration()
        configuration.maxRecordBytes = 100
        let long = String(repeating: "x", count: 5_000)
        let read = records("a\n\(long),\"\(long)\n\(long)\"\nb\n", configuration: configuration)
        #expect(fields(read) == [["a"], nil, ["b"]])
        if case .error(let reason, let raw) = read[1].content {
            #expect(reason.contains("longer than 100 bytes"))
            #expect(raw.count == 1_024)
        }
        #expect(read[2].line == 4)
    }

    /// The same records whatever the chunks, and a reader started at any record's end reads the rest the same.
    @Test func chunkingAndResumingChangeNothing() {
        var generator = SystemRandomNumberGenerator()
        let pieces = ["a", "b,c", "\"q,\"\"x\"\"\"", "\"l\nm\"", "", "é", "\r", "  ", "1"]
        var text = "\u{FEFF}"
        for _ in 0..<300 {
            let count = Int.random(in: 1...5, using: &generator)
            text += (0..<count).map { _ in pieces.randomElement(using: &generator)! }.joined(separator: ",")
            text += Bool.random(using: &generator) ? "\r\n" : "\n"
        }
        let bytes = Array(text.utf8)
        let whole = records(text)
        for _ in 0..<20 {
            var reader = CSVReader()
            var out: [CSVReader.Record] = []
            var index = 0
            while index < bytes.count {
                let size = Int.random(in: 1...64, using: &generator)
                out += reader.read(bytes[index..<min(index + size, bytes.count)])
                index += size
            }
            if let last = reader.finish() { out.append(last) }
            #expect(out == whole)
        }
        let resumeAt = whole[whole.count / 2]
        var resumed = CSVReader(offset: resumeAt.end, line: whole[whole.count / 2 + 1].line)
        var rest = resumed.read(bytes[Int(resumeAt.end)...])
        if let last = resumed.finish() { rest.append(last) }
        #expect(rest == Array(whole[(whole.count / 2 + 1)...]))
    }
}
