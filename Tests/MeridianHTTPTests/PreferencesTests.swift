import HTTPTypes
import MeridianHTTP
import Testing

/// `Prefer` (RFC 7240): `wait` is read; anything else, or anything malformed, is ignored.
@Suite struct PreferencesTests {
    static func wait(_ values: String...) -> Int? {
        var fields = HTTPFields()
        for value in values { fields.append(HTTPField(name: Preferences.prefer, value: value)) }
        return Preferences(fields).wait
    }

    @Test func waitIsReadFromAnyPlaceOfTheHeader() {
        #expect(Self.wait("wait=5") == 5)
        #expect(Self.wait("respond-async, wait=10") == 10)
        #expect(Self.wait("handling=lenient", "Wait = 7 ; foo=bar") == 7)
        #expect(Self.wait(#"wait="3""#) == 3)
        #expect(Self.wait("wait=0") == 0)
    }

    @Test func malformedOrMissingWaitIsIgnoredAndHugeOnesAreCapped() {
        #expect(Self.wait() == nil)
        #expect(Self.wait("wait") == nil)
        #expect(Self.wait("wait=") == nil)
        #expect(Self.wait("wait=-1") == nil)
        #expect(Self.wait("wait=1.5") == nil)
        #expect(Self.wait("wait=\u{0}") == nil)
        #expect(Self.wait("wait=99999999999999999999999999") == 86_400)
        #expect(Self.wait(String(repeating: ",", count: 10_000)) == nil)
    }
}
