import Foundation
import Testing

@testable import MeridianCore

@Suite struct JSONScannerTests {
    func scan(_ text: String) throws(JSONScanner.Failure) -> (JSONScanner, JSONScanner.Value) {
        var scanner = JSONScanner(Array(text.utf8))
        let value = try scanner.document()
        return (scanner, value)
    }

    @Test(arguments: [
        #"{"a":1,}"#, #"[1,2,]"#, #"{"a" 1}"#, #"{a:1}"#, #"[01]"#, #"[1.]"#, #"[-]"#, #"["\x"]"#, #"["\u12G4"]"#,
        "[\"a\u{01}b\"]", #"[tru]"#, #"{"a":1} x"#, #"{"a":"#, "", #""unterminated"#, #"[1e]"#, #""\"#, #"{"a":"\"#,
    ])
    func rejectsMalformedJSON(_ text: String) {
        #expect(throws: JSONScanner.Failure.self) { try scan(text) }
    }

    @Test(arguments: [
        #"{}"#, #"[]"#, #" {"a" : [1, -2.5e+3, true, false, null, {"b":"c"}]} "#, #""\u00e9\ud83d\ude00\n""#, #"0"#,
        #"-0.0E-2"#,
    ])
    func acceptsValidJSONAsFoundationDoes(_ text: String) throws {
        _ = try scan(text)
        #expect((try? JSONSerialization.jsonObject(with: Data(text.utf8), options: [.fragmentsAllowed])) != nil)
    }

    @Test func membersAndStringDecoding() throws {
        let (scanner, value) = try scan(#"{"k\"ey":"v\u00e9\ud83d\ude00\/","n":[1, {"x":2}],"s":"plain"}"#)
        let members = try scanner.members(of: value)
        #expect(members.map(\.key) == [#"k"ey"#, "n", "s"])
        #expect(try scanner.decodeString(members[0].value) == "vé😀/")
        #expect(String(decoding: scanner.bytes[members[1].value.range], as: UTF8.self) == #"[1, {"x":2}]"#)
        #expect(try scanner.elements(of: members[1].value).map(\.kind) == [.number, .object])
        #expect(try scanner.decodeString(members[2].value) == "plain")
    }

    /// Every truncation of a valid document is malformed, and each is refused (a body ending in a backslash
    /// once made the scan loop forever).
    @Test func everyTruncationIsRefused() {
        let text = #"{"id":"a\"b","n":[1,-2.5e+3,true,false,null],"u":"\u00e9\ud83d\ude00","o":{"x":{}}}"#
        let bytes = Array(text.utf8)
        for length in 0..<bytes.count {
            var scanner = JSONScanner(Array(bytes[..<length]))
            #expect(throws: JSONScanner.Failure.self, "prefix of \(length) bytes") { try scanner.document() }
        }
    }

    @Test func childrenComeFromTheSamePassAsMembersGivesThem() throws {
        let text = #" {"a":[1,{"b":2}],"c\u0041":"d"} "#
        var scanner = JSONScanner(Array(text.utf8))
        let (value, children) = try scanner.documentWithChildren()
        let members = try scanner.members(of: value)
        #expect(children?.map(\.key) == ["a", "cA"])
        #expect(children?.map(\.value.range) == members.map(\.value.range))
        var array = JSONScanner(Array("[1, \"x\", {}]".utf8))
        let (list, elements) = try array.documentWithChildren()
        #expect(elements?.map(\.value.kind) == [.number, .string, .object])
        #expect(try array.elements(of: list).map(\.range) == elements?.map(\.value.range))
        var number = JSONScanner(Array("42".utf8))
        #expect(try number.documentWithChildren().children == nil)
    }

    @Test func childrenAreBoundedButTheWholeDocumentIsStillChecked() throws {
        let text = "[" + (1...100).map(String.init).joined(separator: ",") + "]"
        var scanner = JSONScanner(Array(text.utf8))
        #expect(try scanner.documentWithChildren(limit: 5).children?.count == 6)
        var broken = JSONScanner(Array(("[" + (1...100).map(String.init).joined(separator: ",") + ",]").utf8))
        #expect(throws: JSONScanner.Failure.self) { try broken.documentWithChildren(limit: 5) }
    }

    @Test func scansOneLineOfALargerBodyInPlace() throws {
        let body = Array("{\"a\":1}\n{\"b\":\n  nope}\n".utf8)
        var first = JSONScanner(body, in: 0..<7)
        #expect(try first.documentWithChildren().children?.map(\.key) == ["a"])
        var second = JSONScanner(body, in: 8..<(body.count - 1))
        do {
            _ = try second.document()
            Issue.record("must fail")
        } catch {
            // Positions count from the start of the line, not of the body.
            #expect(second.position(of: error.offset) == "line 2, column 3")
        }
    }

    @Test func errorsCarryALineAndColumn() {
        var scanner = JSONScanner(Array("{\n  \"a\": nope\n}".utf8))
        do {
            _ = try scanner.document()
            Issue.record("must fail")
        } catch {
            #expect(scanner.position(of: error.offset) == "line 2, column 8")
        }
    }

    @Test func nestingIsBounded() {
        let deep = String(repeating: "[", count: 10_000) + String(repeating: "]", count: 10_000)
        #expect(throws: JSONScanner.Failure.self) { try scan(deep) }
        let fine = String(repeating: "[", count: 100) + String(repeating: "]", count: 100)
        #expect((try? scan(fine)) != nil)
    }
}

@Suite struct TimestampTests {
    /// Foundation as the reference for the calendar (whole seconds, from 1600: Foundation switches to the
    /// Julian calendar before 1582) and the milliseconds checked on their own.
    @Test func formatsLikeFoundationForManyDates() {
        let style = Date.ISO8601FormatStyle()
        var generator = SystemRandomNumberGenerator()
        for _ in 0..<2_000 {
            let seconds = Int64.random(in: -11_676_096_000...253_402_300_799, using: &generator)
            let millis = Int64.random(in: 0...999, using: &generator)
            let date = Date(timeIntervalSince1970: Double(seconds) + Double(millis) / 1000)
            let whole = style.format(Date(timeIntervalSince1970: Double(seconds)))
            let expected = whole.dropLast() + "." + String(format: "%03d", millis) + "Z"
            #expect(Timestamp.format(date) == expected, "for \(seconds) s + \(millis) ms")
        }
        #expect(Timestamp.format(Date(timeIntervalSince1970: 0)) == "1970-01-01T00:00:00.000Z")
        #expect(Timestamp.format(Date(timeIntervalSince1970: -0.001)) == "1969-12-31T23:59:59.999Z")
        #expect(Timestamp.format(Date(timeIntervalSince1970: 951_782_400)) == "2000-02-29T00:00:00.000Z")
    }

    /// Dates no RFC 3339 text can hold are clamped, never a trap (a trap kills the process).
    @Test func formatsAnyDateWithoutTrapping() {
        #expect(Timestamp.format(Date(timeIntervalSince1970: 1e300)) == "9999-12-31T23:59:59.999Z")
        #expect(Timestamp.format(Date(timeIntervalSince1970: -1e300)) == "0001-01-01T00:00:00.000Z")
        #expect(Timestamp.format(Date(timeIntervalSince1970: .infinity)) == "9999-12-31T23:59:59.999Z")
        #expect(Timestamp.format(Date(timeIntervalSince1970: .nan)) == "9999-12-31T23:59:59.999Z")
        #expect(Timestamp.format(Date(timeIntervalSince1970: 253_402_300_799)) == "9999-12-31T23:59:59.000Z")
        // Year 0 (an hour before 0001-01-01) is outside the hand-written range: Foundation formats it.
        #expect(Timestamp.format(Date(timeIntervalSince1970: -62_135_596_800 - 3_600)).contains("T23:00:00"))
        // Foundation's parser refuses what would land before year 1, so decoded events never get there.
        #expect(Timestamp.parse("0001-01-01T00:00:00+23:59") == nil)
    }

    @Test func parsesOffsetsAndFractions() {
        #expect(Timestamp.parse("2026-01-02T03:04:05Z").map(Timestamp.format) == "2026-01-02T03:04:05.000Z")
        #expect(Timestamp.parse("2026-01-02T03:04:05.5+01:00").map(Timestamp.format) == "2026-01-02T02:04:05.500Z")
        #expect(Timestamp.parse("2026-01-02") == nil)
        #expect(Timestamp.parse("yesterday") == nil)
    }
}

@Suite struct RawDataTests {
    @Test func dataTravelsAsTheClientSentIt() throws {
        let decoder = try EventDecoder()
        let event = try decoder.decodeSingle(
            Array(#"{"type":"a.b","payload": {"b" : [1, 2.50],  "a":"\u00e9"} }"#.utf8), format: .json, receivedAt: Date())
        #expect(String(decoding: event.data, as: UTF8.self) == #"{"b" : [1, 2.50],  "a":"\u00e9"}"#)
    }

    @Test func theDefaultTypeRuleMatchesItsPattern() throws {
        let regex = try NSRegularExpression(pattern: #"\A(?:"# + EventDecoder.Configuration.defaultTypePattern + #")\z"#)
        for type in [
            "a", "page.viewed", "com.example/x:y-z_1", ".a", "a b", "é", "", String(repeating: "a", count: 255),
            String(repeating: "a", count: 256), "a\n",
        ] {
            let expected = regex.firstMatch(in: type, range: NSRange(type.startIndex..., in: type)) != nil
            #expect(EventDecoder.matchesDefaultTypePattern(type) == expected, "type \(type.debugDescription)")
        }
    }
}

@Suite struct RandomIDTests {
    @Test func version4UUIDsThatFoundationParses() {
        var seen: Set<String> = []
        // 2,000 ids draw 32,000 random bytes: the 4 KiB pool is refilled several times.
        for _ in 0..<2_000 {
            let id = RandomID.uuidString()
            let uuid = UUID(uuidString: id)
            #expect(uuid != nil)
            #expect(uuid?.uuidString.lowercased() == id)
            #expect(Array(id)[14] == "4")
            #expect("89ab".contains(Array(id)[19]))
            seen.insert(id)
        }
        #expect(seen.count == 2_000)
    }
}

@Suite struct JSONScannerDifferentialTests {
    /// A fixed-seed generator (xorshift64), so every run judges the same texts.
    struct Seeded: RandomNumberGenerator {
        var state: UInt64 = 0x9E37_79B9_7F4A_7C15
        mutating func next() -> UInt64 {
            state ^= state << 13
            state ^= state >> 7
            state ^= state << 17
            return state
        }
    }

    /// Random texts from JSON's own tokens, judged by the scanner and by Foundation: both must agree on what
    /// is JSON, and the scanner must finish on every one (a missed case once looped forever). Foundation accepts
    /// a trailing comma (`[true,]`), which RFC 8259 does not: texts with one are judged by the RFC alone.
    @Test func agreesWithFoundationOnRandomTexts() throws {
        let tokens = [
            "{", "}", "[", "]", "\"", "\\", "\\\"", "\\n", "\\u00e9", "\\u12", ":", ",", "0", "1", "-", ".", "e", "+",
            "true", "false", "null", "nul", "a", " ", "\n", "\"k\":", "\"v\"",
        ]
        let trailingComma = /,[ \n]*[\]}]/
        var generator = Seeded()
        var disagreements: [String] = []
        for _ in 0..<50_000 {
            let count = Int.random(in: 1...12, using: &generator)
            let text = (0..<count).map { _ in tokens.randomElement(using: &generator)! }.joined()
            var scanner = JSONScanner(Array(text.utf8))
            let ours = (try? scanner.document()) != nil
            if text.contains(trailingComma) {
                // Whatever Foundation says, a trailing comma outside a string is not JSON.
                if ours, !text.contains("\"") { disagreements.append(text) }
                continue
            }
            let foundation =
                (try? JSONSerialization.jsonObject(with: Data(text.utf8), options: [.fragmentsAllowed])) != nil
            if ours != foundation { disagreements.append(text) }
        }
        #expect(disagreements.isEmpty, "\(disagreements.prefix(10))")
    }
}
