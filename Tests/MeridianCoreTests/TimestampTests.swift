import Foundation
import Testing

@testable import MeridianCore

/// `Timestamp.parse` reads the strict RFC 3339 form by hand and leaves the rest to Foundation: on random texts, valid
/// and not, the hand-written path accepts only what Foundation accepts, and gives the same instant.
extension TimestampTests {
    static let foundationWithFraction = Date.ISO8601FormatStyle(includingFractionalSeconds: true)
    static let foundation = Date.ISO8601FormatStyle()

    func pad(_ value: Int, _ width: Int) -> String {
        let text = String(value)
        return String(repeating: "0", count: max(0, width - text.count)) + text
    }

    @Test func theStrictFormAgreesWithFoundation() {
        var generator = JSONScannerDifferentialTests.Seeded()
        var accepted = 0
        for _ in 0..<20_000 {
            // Fields mostly in range, sometimes just out (a 30 February, hour 24, second 60, month 13).
            let year = Int.random(in: 1...9999, using: &generator)  // before 1600 Foundation decides (Julian)
            let month = Int.random(in: 0...13, using: &generator)
            let day = Int.random(in: 0...32, using: &generator)
            let hour = Int.random(in: 0...24, using: &generator)
            let minute = Int.random(in: 0...60, using: &generator)
            let second = Int.random(in: 0...60, using: &generator)
            var text = "\(pad(year, 4))-\(pad(month, 2))-\(pad(day, 2))T\(pad(hour, 2)):\(pad(minute, 2)):\(pad(second, 2))"
            let digits = Int.random(in: 0...10, using: &generator)
            if digits > 0 {
                text += "." + (0..<digits).map { _ in String(Int.random(in: 0...9, using: &generator)) }.joined()
            }
            switch Int.random(in: 0...3, using: &generator) {
            case 0: text += "Z"
            case 1:
                text +=
                    "+\(pad(Int.random(in: 0...23, using: &generator), 2)):\(pad(Int.random(in: 0...59, using: &generator), 2))"
            case 2:
                text +=
                    "-\(pad(Int.random(in: 0...23, using: &generator), 2)):\(pad(Int.random(in: 0...59, using: &generator), 2))"
            default: text += ["z", "", "+0100", "Z ", "+01:0"].randomElement(using: &generator)!
            }
            guard let mine = Timestamp.strict(text) else { continue }
            accepted += 1
            let theirs = (try? Self.foundationWithFraction.parse(text)) ?? (try? Self.foundation.parse(text))
            #expect(theirs != nil, "\(text): accepted by hand, refused by Foundation")
            if let theirs {
                let difference = abs(mine.timeIntervalSince1970 - theirs.timeIntervalSince1970)
                #expect(difference < 0.000_1, "\(text): \(mine.timeIntervalSince1970) vs \(theirs.timeIntervalSince1970)")
            }
        }
        #expect(accepted > 5_000, "the strict form was tried: \(accepted)")
    }

    @Test func formsLeftToFoundationStillParse() {
        // Not the strict form, yet RFC 3339 as Foundation reads it (or not): the answer is Foundation's.
        // Before 1600 Foundation's (Julian) calendar decides.
        #expect(Timestamp.strict("1500-01-02T03:04:05Z") == nil)
        #expect(Timestamp.parse("1500-01-02T03:04:05Z") == (try? Self.foundation.parse("1500-01-02T03:04:05Z")))
        #expect(Timestamp.parse("2026-01-02T03:04:05.5-00:00") == Timestamp.parse("2026-01-02T03:04:05.5Z"))
        for text in ["2026-01-02t03:04:05Z", "2026-01-02T03:04:05", "2026-01-02 03:04:05Z", "garbage-but-long-enough!"] {
            #expect(Timestamp.parse(text) == nil, "\(text)")
        }
        #expect(Timestamp.parse("2026-01-02T03:04:05.678Z").map(Timestamp.format) == "2026-01-02T03:04:05.678Z")
        #expect(Timestamp.parse("2026-01-02T03:04:05+01:30").map(Timestamp.format) == "2026-01-02T01:34:05.000Z")
        #expect(Timestamp.parse("9999-12-31T23:59:59.999Z").map(Timestamp.format) == "9999-12-31T23:59:59.999Z")
    }
}
