import Testing

@testable import MeridianCore

@Suite struct TextRulesTests {
    @Test func trimsAndBoundsByCharacters() throws {
        #expect(try TextRules.check("  Lamp  ", field: "name", maxCharacters: 4) == "Lamp")
        #expect(try TextRules.check("été", field: "name", maxCharacters: 3) == "été")
        #expect(try TextRules.check("👩‍👩‍👧", field: "name", maxCharacters: 1) == "👩‍👩‍👧", "one grapheme, joiners allowed")
        #expect(throws: FieldViolation(field: "name", "must have at most 3 characters")) {
            try TextRules.check("Lamps", field: "name", maxCharacters: 3)
        }
        #expect(throws: FieldViolation(field: "name", "must not be empty")) {
            try TextRules.check(" \t ", field: "name", maxCharacters: 3, lines: .multiple)
        }
        #expect(try TextRules.check("", field: "d", maxCharacters: 3, allowEmpty: true) == "")
    }

    @Test(arguments: ["a\u{0}b", "a\u{7}", "a\u{1B}[31m", "a\u{7F}", "a\u{85}", "a\u{202E}b", "a\u{2066}b", "a\u{200F}"])
    func refusesControlAndBidiCharacters(value: String) {
        #expect(throws: FieldViolation.self) { try TextRules.check(value, field: "name", maxCharacters: 100) }
        #expect(throws: FieldViolation.self) {
            try TextRules.check(value, field: "description", maxCharacters: 100, lines: .multiple)
        }
    }

    @Test func lineBreaksOnlyWhereAFieldAllowsThem() throws {
        #expect(throws: FieldViolation.self) { try TextRules.check("a\nb", field: "name", maxCharacters: 10) }
        #expect(throws: FieldViolation.self) { try TextRules.check("a\u{2028}b", field: "name", maxCharacters: 10) }
        #expect(try TextRules.check("a\n\tb\r\nc", field: "d", maxCharacters: 10, lines: .multiple) == "a\n\tb\r\nc")
    }

    @Test func theViolationNamesTheCharacter() {
        do {
            _ = try TextRules.check("x\u{0}", field: "email", maxCharacters: 10)
            Issue.record("NUL must be refused")
        } catch {
            #expect(error.field == "email")
            #expect(error.detail.contains("U+0000"))
        }
    }
}

@Suite struct CheckedMathTests {
    @Test func overflowIsAViolationNotATrap() throws {
        #expect(try CheckedMath.add(Int.max - 1, 1, field: "delta") == Int.max)
        #expect(throws: FieldViolation(field: "delta", "is out of range")) { try CheckedMath.add(Int.max, 1, field: "delta") }
        #expect(throws: FieldViolation.self) { try CheckedMath.add(Int.min, -1, field: "delta") }
        #expect(try CheckedMath.multiply(1_000, 10_000_000_000, field: "quantity") == 10_000_000_000_000)
        #expect(throws: FieldViolation.self) { try CheckedMath.multiply(Int.max / 2 + 1, 2, field: "quantity") }
        #expect(throws: FieldViolation.self) { try CheckedMath.multiply(Int.min, -1, field: "quantity") }
    }

    @Test func rangesNameTheirBounds() throws {
        #expect(try CheckedMath.within(5, 1...10, field: "quantity") == 5)
        #expect(throws: FieldViolation(field: "quantity", "must be between 1 and 10")) {
            try CheckedMath.within(0, 1...10, field: "quantity")
        }
    }
}
