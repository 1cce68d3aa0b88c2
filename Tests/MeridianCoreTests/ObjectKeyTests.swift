import Testing

@testable import MeridianCore

@Suite struct ObjectKeyTests {
    @Test(arguments: [
        "uploads/products/p-1/u-2.jpg", "a", "processed/thumbnail/p/u_150x150.jpg", "datasets/customer_id=c/dataset=d/x.csv",
        "é/ü.png", "a.b/..c/d..", String(repeating: "k", count: 1_024),
    ])
    func validKeys(_ text: String) throws {
        #expect(try ObjectKey(validating: text).rawValue == text)
    }

    @Test(arguments: [
        ("", "is empty"), ("/etc/passwd", "starts with /"), ("a/", "ends with /"), ("a//b", "empty segment"),
        ("../x", ". or .."), ("a/../../b", ". or .."), ("a/./b", ". or .."), ("..", ". or .."),
        ("a\u{0}b", "control character"), ("a\nb", "control character"), ("a\u{7F}", "control character"),
        (#"a\..\b"#, "backslash"), (String(repeating: "k", count: 1_025), "longer than 1024"),
        (String(repeating: "é", count: 513), "longer than 1024"),
    ])
    func invalidKeysNameTheRule(_ text: String, _ rule: String) {
        #expect(ObjectKey(rawValue: text) == nil)
        do {
            _ = try ObjectKey(validating: text)
            Issue.record("\(text.debugDescription) must be refused")
        } catch {
            #expect("\(error)".contains(rule), "\(error)")
        }
    }

    @Test func keysSortByTheirBytesAsS3ListsThem() throws {
        let keys = try ["b", "a/b", "a", "Z", "a-b", "é"].map { try ObjectKey(validating: $0) }
        #expect(keys.sorted().map(\.rawValue) == ["Z", "a", "a-b", "a/b", "b", "é"])
    }
}
